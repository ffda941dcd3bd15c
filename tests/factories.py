"""factory_boy factories for every model; tests build their data with these."""

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth.models import Permission
from django.utils import timezone

from offices.models import Office
from sales.models import Document, DocumentType, DocumentUse, SalesHistoryEntry
from users.models import User


class OfficeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Office

    name = factory.Sequence(lambda n: f"Sucursal {n}")
    description = "Tienda principal"
    address = factory.Sequence(lambda n: f"Av. Larco {100 + n}")
    latitude = "-12.1219"
    longitude = "-77.0297"
    country = "Perú"
    municipality = "Miraflores"
    city = "Lima"
    zip_code = "15074"
    cost_center = factory.Sequence(lambda n: f"CC-{n:03d}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Sequence(lambda n: f"Nombre{n}")
    last_name = factory.Sequence(lambda n: f"Apellido{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    office = factory.SubFactory(OfficeFactory)
    business_name = factory.Sequence(lambda n: f"Bodega {n}")
    quota = Decimal("1500000.00")
    status = "active"
    phone = factory.Sequence(lambda n: f"+5730000{n:05d}")
    nit = factory.Sequence(lambda n: f"9001{n:05d}-1")
    password = factory.django.Password("secret-pass-123")

    @factory.post_generation
    def perms(self, create, extracted, **kwargs):
        """``UserFactory(perms=["users.view_user"])`` grants those permissions."""
        if not create or not extracted:
            return
        for perm in extracted:
            app_label, codename = perm.split(".")
            self.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


class DocumentTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DocumentType

    name = "Boleta"
    code = "39"
    use = DocumentUse.SALE
    is_electronic = True


class CreditNoteTypeFactory(DocumentTypeFactory):
    name = "Nota de crédito"
    code = "61"
    use = DocumentUse.RETURN


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Document

    document_type = factory.SubFactory(DocumentTypeFactory)
    number = factory.Sequence(lambda n: 1000 + n)
    emission_date = dt.date(2015, 8, 3)
    generation_date = factory.LazyFunction(timezone.now)
    office = factory.SubFactory(OfficeFactory)
    user = factory.SubFactory(UserFactory)
    net_amount = Decimal("100.00")
    tax_amount = Decimal("19.00")
    exempt_amount = Decimal("0.00")
    total_amount = Decimal("119.00")


class SalesHistoryEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesHistoryEntry

    user = factory.SubFactory(UserFactory)
    nit = "900123456-7"
    amount = Decimal("150000.50")
    date = factory.Sequence(
        lambda n: dt.datetime(2024, 3, 1, 10, 30, tzinfo=dt.UTC) + dt.timedelta(days=n)
    )
    emc = "Postobón"
