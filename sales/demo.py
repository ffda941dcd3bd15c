"""Realistic, deterministic demo data for ``manage.py seed_demo``.

Shape (it matters for benchmarks): offices in Peru and Colombia; a small share of the
users (the sellers, about 1 %) issue every document; most users are Leancore merchants
with a purchase history from mass consumption companies (EMC) and no documents.
Documents are spread over the 365 days up to today, with weekly and seasonal variation;
their tax is 18 % (Peru, IGV) or 19 % (Colombia, IVA), included in the price as Bsale
shows it (``total = net + tax``); about 5 % are credit notes that return (part of) an
earlier sale of the same seller, and about 2 % are void.

Deterministic: every random draw comes from ``random.Random`` instances seeded from the
``seed`` (one stream per phase), and dates are relative to ``today``; the same seed and
sizes on the same day give the same rows.

Idempotent: rows have natural keys (office cost centre ``DEMO-001``, username
``demo_user_000001``, document type and folio, history (user, nit, date, emc)); the
whole data set is always generated, and only the rows that are missing are inserted
(the insert itself ignores conflicts, in case anything slipped in), so a second run
with the same arguments inserts nothing.

Fast: rows are inserted in batches, one transaction per batch; on PostgreSQL each batch
is streamed with ``COPY`` into a temporary table and moved with ``INSERT ... SELECT ...
ON CONFLICT DO NOTHING`` (several times faster than multi-row INSERTs); elsewhere it is
``bulk_create(ignore_conflicts=True)``.

The NITs and RUCs of companies and merchants are made up (well formed, with a valid
check digit); the EMC names are real companies, used as realistic labels only.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import unicodedata
import uuid
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import connection, models, transaction
from django.utils import timezone

from offices.models import Office
from sales import totals_sql
from sales.models import Document, DocumentType, DocumentUse, SalesHistoryEntry, SellerName
from users.models import User

USERNAME_PREFIX = "demo_user_"
OFFICE_COST_CENTER_PREFIX = "DEMO-"

PERU, COLOMBIA = "Perú", "Colombia"
TAX_RATE_PERCENT = {PERU: 18, COLOMBIA: 19}  # IGV, IVA
# Prices are shown with tax included; Colombian pesos are rounded to whole pesos.
CURRENCY = {PERU: "PEN", COLOMBIA: "COP"}

# (country, city, municipality / district, latitude, longitude, zip code, street)
LOCATIONS: list[tuple[str, str, str, str, str, str, str]] = [
    (PERU, "Lima", "Miraflores", "-12.1219", "-77.0297", "15074", "Av. José Larco"),
    (COLOMBIA, "Bogotá", "Chapinero", "4.6486", "-74.0628", "110231", "Carrera 13"),
    (PERU, "Arequipa", "Cercado", "-16.3989", "-71.5350", "04001", "Calle Mercaderes"),
    (COLOMBIA, "Medellín", "El Poblado", "6.2088", "-75.5674", "050021", "Carrera 43A"),
    (PERU, "Lima", "San Isidro", "-12.0976", "-77.0365", "15073", "Av. Camino Real"),
    (COLOMBIA, "Cali", "San Fernando", "3.4372", "-76.5225", "760042", "Calle 5"),
    (PERU, "Trujillo", "Trujillo", "-8.1116", "-79.0288", "13001", "Jr. Pizarro"),
    (COLOMBIA, "Barranquilla", "Riomar", "11.0041", "-74.8070", "080001", "Carrera 53"),
    (PERU, "Lima", "Santiago de Surco", "-12.1353", "-76.9913", "15023", "Av. Primavera"),
    (COLOMBIA, "Bogotá", "Usaquén", "4.6951", "-74.0308", "110111", "Calle 116"),
    (PERU, "Cusco", "Cusco", "-13.5320", "-71.9675", "08002", "Av. El Sol"),
    (COLOMBIA, "Cartagena", "Bocagrande", "10.3997", "-75.5514", "130001", "Av. San Martín"),
    (PERU, "Chiclayo", "Chiclayo", "-6.7714", "-79.8409", "14001", "Av. José Balta"),
    (COLOMBIA, "Bucaramanga", "Cabecera del Llano", "7.1193", "-73.1227", "680003", "Carrera 33"),
    (PERU, "Piura", "Piura", "-5.1945", "-80.6328", "20001", "Av. Grau"),
    (COLOMBIA, "Pereira", "Centro", "4.8133", "-75.6961", "660001", "Carrera 7"),
    (PERU, "Lima", "Los Olivos", "-11.9699", "-77.0736", "15304", "Av. Carlos Izaguirre"),
    (COLOMBIA, "Medellín", "Laureles", "6.2447", "-75.5916", "050031", "Circular 1"),
    (PERU, "Huancayo", "Huancayo", "-12.0651", "-75.2049", "12001", "Calle Real"),
    (COLOMBIA, "Bogotá", "Kennedy", "4.6286", "-74.1516", "110811", "Av. Primero de Mayo"),
    (PERU, "Lima", "San Juan de Lurigancho", "-12.0296", "-77.0110", "15401", "Av. Próceres"),
    (COLOMBIA, "Manizales", "Centro", "5.0703", "-75.5138", "170001", "Carrera 23"),
    (PERU, "Iquitos", "Iquitos", "-3.7437", "-73.2516", "16001", "Jr. Próspero"),
    (COLOMBIA, "Cúcuta", "Centro", "7.8939", "-72.5078", "540001", "Av. 5"),
    (COLOMBIA, "Santa Marta", "El Rodadero", "11.2044", "-74.2257", "470001", "Carrera 4"),
    (COLOMBIA, "Ibagué", "Centro", "4.4389", "-75.2322", "730001", "Carrera 3"),
]

FIRST_NAMES = [
    "María",
    "José",
    "Luis",
    "Carmen",
    "Juan",
    "Rosa",
    "Carlos",
    "Ana",
    "Jorge",
    "Lucía",
    "Miguel",
    "Sofía",
    "Andrés",
    "Valentina",
    "Alejandro",
    "Daniela",
    "Diego",
    "Camila",
    "Fernando",
    "Gabriela",
    "Ricardo",
    "Paola",
    "Sebastián",
    "Isabel",
    "Javier",
    "Natalia",
    "Manuel",
    "Carolina",
    "Pedro",
    "Mariana",
    "Julián",
    "Verónica",
    "Óscar",
    "Patricia",
    "Santiago",
    "Claudia",
    "Héctor",
    "Milagros",
    "César",
    "Yolanda",
    "Raúl",
    "Flor",
    "Wilson",
    "Luz Marina",
    "Edwin",
    "Gloria",
    "Jhon",
    "Sandra",
    "Felipe",
    "Diana",
]
FEMALE_FIRST_NAMES = {
    "María",
    "Carmen",
    "Rosa",
    "Ana",
    "Lucía",
    "Sofía",
    "Valentina",
    "Daniela",
    "Camila",
    "Gabriela",
    "Paola",
    "Isabel",
    "Natalia",
    "Carolina",
    "Mariana",
    "Verónica",
    "Patricia",
    "Claudia",
    "Milagros",
    "Yolanda",
    "Flor",
    "Luz Marina",
    "Gloria",
    "Sandra",
    "Diana",
}
LAST_NAMES = [
    "García",
    "Rodríguez",
    "Martínez",
    "López",
    "González",
    "Pérez",
    "Sánchez",
    "Ramírez",
    "Torres",
    "Flores",
    "Rivera",
    "Gómez",
    "Díaz",
    "Vargas",
    "Castillo",
    "Rojas",
    "Quispe",
    "Mamani",
    "Huamán",
    "Chávez",
    "Mendoza",
    "Ramos",
    "Herrera",
    "Medina",
    "Aguilar",
    "Castro",
    "Ortiz",
    "Morales",
    "Jiménez",
    "Ruiz",
    "Cárdenas",
    "Salazar",
    "Valencia",
    "Restrepo",
    "Ospina",
    "Londoño",
    "Zapata",
    "Cruz",
    "Muñoz",
    "Córdoba",
    "Paredes",
    "Espinoza",
    "Villanueva",
    "Cáceres",
    "Benítez",
    "Arango",
    "Mejía",
    "Correa",
    "Suárez",
]
SHOP_KINDS = {
    PERU: ["Bodega", "Minimarket", "Botica", "Panadería", "Abarrotes", "Ferretería", "Librería"],
    COLOMBIA: [
        "Tienda",
        "Minimercado",
        "Droguería",
        "Panadería",
        "Miscelánea",
        "Autoservicio",
        "Cigarrería",
        "Frutería",
    ],
}
SHOP_NAMES = [
    "La Esperanza",
    "El Progreso",
    "San José",
    "Los Andes",
    "La Bendición",
    "El Porvenir",
    "Santa Rosa",
    "Mi Barrio",
    "La Economía",
    "El Ahorro",
    "La Estrella",
    "El Triunfo",
    "San Martín",
    "La Victoria",
    "El Sol",
    "La Fe",
    "Las Palmas",
    "El Paraíso",
    "Doña Rosa",
    "Don Lucho",
    "La Esquina",
    "El Buen Precio",
    "Santa Fe",
    "La Amistad",
    "El Mirador",
]
BUSINESS_ENTITIES = {
    PERU: [("Persona natural con negocio", 60), ("E.I.R.L.", 20), ("S.A.C.", 20)],
    COLOMBIA: [("Persona natural", 70), ("S.A.S.", 25), ("Ltda.", 5)],
}
PAYMENT_METHODS = {
    PERU: ["yape", "plin", "bcp", "interbank", "efectivo"],
    COLOMBIA: ["nequi", "daviplata", "bancolombia", "davivienda", "efectivo"],
}
ECOSYSTEMS = [("Canal tradicional", 70), ("Mayorista", 12), ("Canal moderno", 10), ("HORECA", 8)]
STATUSES = [("active", 86), ("pending", 8), ("blocked", 4), ("suspended", 2)]
STREET_TYPES = {
    PERU: ["Av.", "Jr.", "Calle", "Psje."],
    COLOMBIA: ["Calle", "Carrera", "Diagonal", "Transversal", "Avenida"],
}
# Mass consumption companies (EMC) per country, with a relative weight.
EMCS = {
    COLOMBIA: [
        ("Postobón", 16),
        ("Bavaria", 16),
        ("Nutresa", 14),
        ("Alpina", 10),
        ("Colombina", 9),
        ("Quala", 8),
        ("Colanta", 8),
        ("Familia", 7),
        ("Ramo", 6),
        ("Team Foods", 6),
    ],
    PERU: [
        ("Backus", 16),
        ("Gloria", 15),
        ("Alicorp", 15),
        ("Arca Continental Lindley", 12),
        ("San Fernando", 9),
        ("Laive", 8),
        ("AJE", 8),
        ("Molitalia", 7),
        ("Nestlé Perú", 6),
        ("Costeño", 4),
    ],
}

# (name, code, use): Bsale-like document types.
DOCUMENT_TYPES = [
    ("Boleta", "39", DocumentUse.SALE),
    ("Factura", "33", DocumentUse.SALE),
    ("Nota de crédito", "61", DocumentUse.RETURN),
    ("Guía de despacho", "52", DocumentUse.DISPATCH),
]
BOLETA, FACTURA, CREDIT_NOTE, DISPATCH = range(4)
# Share of each kind among documents (credit notes fall back to a boleta while the
# seller has nothing to return yet).
KIND_CUM_WEIGHTS = list(itertools.accumulate([62, 26, 5, 7]))
VOID_SHARE = 0.02
FULL_RETURN_SHARE = 0.4
RETURNABLE_PER_SELLER = 100  # a seller's recent sales a credit note may return
FACTURA_TERM_DAYS = 30
WEEKDAY_FACTOR = [1.0, 1.0, 1.02, 1.05, 1.15, 1.25, 0.6]  # Monday .. Sunday
MONTH_FACTOR = {1: 0.9, 2: 0.9, 7: 1.1, 11: 1.1, 12: 1.35}


# --- Small helpers ----------------------------------------------------------------------


def ascii_slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text.lower() if ch.isalnum())


def weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    return rng.choices([value for value, _w in pairs], weights=[w for _v, w in pairs])[0]


def colombia_nit(base: int) -> str:
    """A Colombian NIT with its DIAN check digit: ``900123456-7``."""
    weights = (3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71)
    digits = str(base)[::-1]
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11
    check = remainder if remainder in (0, 1) else 11 - remainder
    return f"{base}-{check}"


def peru_ruc(prefix: str, base: int) -> str:
    """A Peruvian RUC (11 digits, SUNAT check digit): ``20`` companies, ``10`` people."""
    body = f"{prefix}{base:08d}"
    total = sum(int(d) * w for d, w in zip(body, (5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True))
    check = 11 - total % 11
    check = {10: 0, 11: 1}.get(check, check)
    return f"{body}{check}"


def cents(value: int) -> Decimal:
    """Integer cents as a 2-place Decimal: ``12345`` -> ``Decimal("123.45")``."""
    return Decimal(value).scaleb(-2)


def split_tax_included(total_cents: int, rate_percent: int) -> tuple[int, int]:
    """``(net, tax)`` in cents of a tax-included total, rounded half up; net + tax == total."""
    divisor = 100 + rate_percent
    net = (total_cents * 200 + divisor) // (2 * divisor)
    return net, total_cents - net


def emc_nit(country: str, index: int) -> str:
    if country == COLOMBIA:
        return colombia_nit(860_000_000 + index * 1_003_117 + 4_321)
    return peru_ruc("20", 10_000_000 + index * 3_131_713)


EMC_NITS = {
    (country, name): emc_nit(country, index)
    for country, companies in EMCS.items()
    for index, (name, _weight) in enumerate(companies)
}


# --- Data specs -------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    offices: int = 10
    users: int = 200
    sellers: int | None = None  # default: about 1 % of users, at least 20 (or all of them)
    documents: int = 5_000
    history: int = 2_000

    @property
    def seller_count(self) -> int:
        if self.sellers is not None:
            return min(self.sellers, self.users)
        return min(self.users, max(20, round(self.users / 100)))


@dataclass
class OfficeSpec:
    index: int
    country: str
    city: str
    fields: dict


@dataclass
class UserSpec:
    index: int
    username: str
    country: str
    city: str
    office_index: int | None
    is_seller: bool
    fields: dict


@dataclass
class SeederStats:
    created: dict[str, int] = field(default_factory=dict)
    existing: dict[str, int] = field(default_factory=dict)
    credit_notes: int = 0
    void: int = 0


ProgressFactory = Callable[[str, int], Any]  # (description, total) -> a tqdm-like bar


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def no_progress(_description: str, _total: int) -> _NoProgress:
    return _NoProgress()


def _batches(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def insert_ignoring_conflicts(model: type[models.Model], rows: list[dict], batch_size: int) -> None:
    """Insert ``rows`` (dicts keyed by field attnames, all with the same keys) in one go.

    Rows that clash with a unique constraint are skipped, as ``bulk_create`` does with
    ``ignore_conflicts=True``. Call it inside a transaction.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            [model(**row) for row in rows], batch_size=batch_size, ignore_conflicts=True
        )
        return
    opts = model._meta
    by_attname = {f.attname: f for f in opts.concrete_fields}
    names = list(rows[0])
    # COPY applies no Django default: fill the fields the rows leave out, as save() would.
    missing = [f for f in opts.concrete_fields if f.attname not in rows[0] and not f.primary_key]
    names += [f.attname for f in missing]
    fields = [by_attname[name] for name in names]
    json_positions = [i for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    stage = quote(f"seed_demo_{opts.db_table}")
    columns = ", ".join(quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        # Demo data can be regenerated: do not wait for each batch's WAL flush (this
        # transaction only; a crash loses at most the last batches, never consistency).
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS "
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY {stage} ({columns}) FROM STDIN") as copy:
            for row in rows:
                values = [row[name] for name in names[: len(row)]]
                values += [f.get_default() for f in missing]
                for i in json_positions:
                    values[i] = json.dumps(values[i])
                copy.write_row(values)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} ON CONFLICT DO NOTHING"
        )
        cursor.execute(f"DROP TABLE {stage}")


# --- The seeder -------------------------------------------------------------------------


class DemoSeeder:
    def __init__(
        self,
        *,
        seed: int = 42,
        sizes: Sizes | None = None,
        batch_size: int = 5_000,
        today: date | None = None,
        progress: ProgressFactory = no_progress,
    ):
        self.seed = seed
        self.sizes = sizes or Sizes()
        self.batch_size = max(1, batch_size)
        self.today = today or timezone.localdate()
        self.tz = timezone.get_default_timezone()
        self.progress = progress
        self.stats = SeederStats()

    def rng(self, phase: str) -> random.Random:
        # A string seed is hashed with SHA-512: stable across processes and Python runs.
        return random.Random(f"seed_demo:{self.seed}:{phase}")

    def run(self) -> SeederStats:
        offices = self.office_specs()
        office_ids = self.load_offices(offices)
        type_ids = self.load_document_types()
        users, user_ids = self.load_users(self.user_specs(offices), office_ids)
        self.load_documents(users, offices, office_ids, user_ids, type_ids)
        self.load_history(users, user_ids)
        self.analyze()
        return self.stats

    def analyze(self) -> None:
        """After a bulk load (PostgreSQL): the sales totals rewritten in key order, and the
        planner's statistics refreshed, so the first queries on the new data do not plan
        with the row counts of an empty table. Batches of documents over every date leave
        each day's totals scattered over the whole table, one page per row read (at 10M the
        31-day summary took 12 ms instead of 6); documents written as they come (the sync,
        the API) keep a day's rows together."""
        if connection.vendor != "postgresql":
            return
        tables = [
            m._meta.db_table
            for m in (Office, DocumentType, User, Document, SalesHistoryEntry, SellerName)
        ]
        with connection.cursor() as cursor:
            for statement in totals_sql.storage_sql(connection.vendor):
                cursor.execute(statement)
            tables += list(totals_sql.KEYS)
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in tables))

    # --- Offices ------------------------------------------------------------------------

    def office_specs(self) -> list[OfficeSpec]:
        rng = self.rng("offices")
        specs = []
        seen: Counter = Counter()
        for index in range(1, self.sizes.offices + 1):
            country, city, district, lat, lon, zip_code, street = LOCATIONS[
                (index - 1) % len(LOCATIONS)
            ]
            is_virtual = index % 12 == 0
            seen[district] += 1
            if is_virtual:
                name = f"Tienda online {country} {index // 12}"
            elif index == 1:
                name = "Casa Matriz"
            else:
                suffix = f" {seen[district]}" if seen[district] > 1 else ""
                name = f"Sucursal {district}{suffix}"
            jitter = seen[district] - 1
            specs.append(
                OfficeSpec(
                    index=index,
                    country=country,
                    city=city,
                    fields={
                        "name": name,
                        "description": (
                            "Ventas por internet y despacho a domicilio"
                            if is_virtual
                            else f"Tienda de {district}, {city}"
                        ),
                        "address": f"{street} {rng.randrange(100, 3999)}",
                        "latitude": "" if is_virtual else f"{float(lat) + jitter * 0.004:.4f}",
                        "longitude": "" if is_virtual else f"{float(lon) - jitter * 0.004:.4f}",
                        "is_virtual": is_virtual,
                        "country": country,
                        "municipality": district,
                        "city": city,
                        "zip_code": zip_code,
                        "cost_center": f"{OFFICE_COST_CENTER_PREFIX}{index:03d}",
                        # A few of the smaller offices are closed.
                        "state": 1 if rng.random() < 0.05 and index > 10 else 0,
                    },
                )
            )
        return specs

    def load_offices(self, specs: list[OfficeSpec]) -> dict[int, int]:
        """Create the missing offices; return office index -> id."""

        def by_cost_center() -> dict[str, int]:
            return dict(
                Office.objects.filter(
                    cost_center__startswith=OFFICE_COST_CENTER_PREFIX
                ).values_list("cost_center", "id")
            )

        existing = by_cost_center()
        missing = [spec for spec in specs if spec.fields["cost_center"] not in existing]
        with transaction.atomic():
            Office.objects.bulk_create([Office(**spec.fields) for spec in missing])
        self._count("offices", len(missing), len(specs) - len(missing))
        ids = by_cost_center()
        return {spec.index: ids[spec.fields["cost_center"]] for spec in specs}

    # --- Document types -----------------------------------------------------------------

    def load_document_types(self) -> list[int]:
        ids, created = [], 0
        for name, code, use in DOCUMENT_TYPES:
            doc_type = (
                DocumentType.objects.filter(name=name, code=code, use=use).order_by("id").first()
            )
            if doc_type is None:
                doc_type = DocumentType.objects.create(
                    name=name, code=code, use=use, is_electronic=True
                )
                created += 1
            ids.append(doc_type.id)
        self._count("document types", created, len(DOCUMENT_TYPES) - created)
        return ids

    # --- Users --------------------------------------------------------------------------

    def user_specs(self, offices: list[OfficeSpec]) -> Iterator[UserSpec]:
        """Every demo user, in index order, with all its fields (no database access)."""
        rng = self.rng("users")
        total, seller_count = self.sizes.users, self.sizes.seller_count
        sellers = set(rng.sample(range(1, total + 1), seller_count)) if total else set()
        # Bigger offices (the first ones: capital cities) get more sellers.
        office_cum = list(itertools.accumulate(1 / math.sqrt(o.index) for o in offices))
        cities = {
            country: sorted({loc[1] for loc in LOCATIONS if loc[0] == country})
            for country in (PERU, COLOMBIA)
        }
        password = UNUSABLE_PASSWORD_PREFIX + "".join(
            rng.choices("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=40)
        )
        now_day = datetime.combine(self.today, time(9, 0), tzinfo=self.tz)
        for index in range(1, total + 1):
            is_seller = index in sellers
            office = None
            if offices and (is_seller or rng.random() < 0.3):
                office = offices[bisect_right(office_cum, rng.random() * office_cum[-1])]
            if office is not None:
                country, city = office.country, office.city
            else:
                country = COLOMBIA if rng.random() < 0.65 else PERU
                city = rng.choice(cities[country])
            first = rng.choice(FIRST_NAMES)
            last = f"{rng.choice(LAST_NAMES)} {rng.choice(LAST_NAMES)}"
            username = f"{USERNAME_PREFIX}{index:06d}"
            is_active = rng.random() > 0.03
            status = weighted(rng, STATUSES) if is_active else "inactive"
            kind = rng.choice(SHOP_KINDS[country])
            if rng.random() < 0.3:
                shop = f"{'Doña' if first in FEMALE_FIRST_NAMES else 'Don'} {first.split()[0]}"
            else:
                shop = rng.choice(SHOP_NAMES)
            entity = weighted(rng, BUSINESS_ENTITIES[country])
            natural_person = entity.startswith("Persona")
            if country == COLOMBIA:
                phone = f"+573{(index * 7919 + 104_729) % 1_000_000_000:09d}"
                nit_base = (index * 7727 + 13) % 100_000_000
                nit = colombia_nit(
                    (1_000_000_000 + nit_base)
                    if natural_person
                    else (900_000_000 + nit_base % 10_000_000)
                )
                quota = Decimal(rng.randrange(5, 101) * 100_000)
                street = (
                    f"{rng.choice(STREET_TYPES[country])} {rng.randint(1, 150)} "
                    f"# {rng.randint(1, 99)}-{rng.randint(1, 99)}"
                )
            else:
                phone = f"+519{(index * 7919 + 104_729) % 100_000_000:08d}"
                nit = peru_ruc("10" if natural_person else "20", (index * 7727 + 13) % 100_000_000)
                quota = Decimal(rng.randrange(10, 301) * 50)
                street = (
                    f"{rng.choice(STREET_TYPES[country])} {rng.choice(LAST_NAMES)} "
                    f"{rng.randint(100, 3999)}"
                )
            if status != "active" and rng.random() < 0.5:
                quota = Decimal(0)
            yield (
                UserSpec(
                    index=index,
                    username=username,
                    country=country,
                    city=city,
                    office_index=office.index if office else None,
                    is_seller=is_seller,
                    fields={
                        "username": username,
                        "password": password,
                        "first_name": first,
                        "last_name": last,
                        "email": f"{ascii_slug(first)}.{ascii_slug(last.split()[0])}.{index}@example.com",
                        "is_active": is_active,
                        "date_joined": now_day
                        - timedelta(days=rng.randint(30, 1095), minutes=rng.randrange(600)),
                        "uuid": uuid.UUID(int=rng.getrandbits(128), version=4),
                        "image": (
                            f"https://cdn.example.com/avatars/{username}.jpg"
                            if rng.random() < 0.2
                            else ""
                        ),
                        "business_name": f"{kind} {shop}",
                        "quota": quota.quantize(Decimal("0.01")),
                        "status": status,
                        "phone": phone,
                        "nit": nit,
                        "address": f"{street}, {city}",
                        "score": None
                        if rng.random() < 0.05
                        else round(rng.triangular(300, 950, 720), 1),
                        "payment_data": {
                            "method": rng.choice(PAYMENT_METHODS[country]),
                            "account": f"****{rng.randrange(10_000):04d}",
                            "currency": CURRENCY[country],
                            "payment_day": rng.choice([5, 15, 30]),
                        },
                        "apn_token": f"{rng.getrandbits(256):064x}" if rng.random() < 0.4 else "",
                        "ecosystem": weighted(rng, ECOSYSTEMS),
                        "business_entity": entity,
                        "additional_data": {
                            "store_type": kind,
                            "employees": rng.randint(1, 8),
                            "opening_hours": rng.choice(
                                ["06:00-21:00", "07:00-22:00", "08:00-20:00"]
                            ),
                            "source": "seed_demo",
                        },
                    },
                )
            )

    def _demo_user_ids(self) -> dict[str, int]:
        return dict(
            User.objects.filter(username__startswith=USERNAME_PREFIX).values_list("username", "id")
        )

    def load_users(
        self, spec_stream: Iterable[UserSpec], office_ids: dict[int, int]
    ) -> tuple[list[UserSpec], dict[int, int]]:
        """Create the missing users; return their specs (without fields) and index -> id."""
        existing = self._demo_user_ids()
        bar = self.progress("users", self.sizes.users)
        specs: list[UserSpec] = []
        created = 0
        for batch in _batches(spec_stream, self.batch_size):
            rows = [
                {
                    **spec.fields,
                    "office_id": office_ids.get(spec.office_index) if spec.office_index else None,
                }
                for spec in batch
                if spec.username not in existing
            ]
            if rows:
                with transaction.atomic():
                    insert_ignoring_conflicts(User, rows, self.batch_size)
            created += len(rows)
            for spec in batch:
                spec.fields = {}  # only the light part is needed from here on
            specs.extend(batch)
            bar.update(len(batch))
        bar.close()
        self._count("users", created, len(specs) - created)
        ids = self._demo_user_ids()
        return specs, {spec.index: ids[spec.username] for spec in specs}

    # --- Documents ----------------------------------------------------------------------

    def day_counts(self, rng: random.Random, total: int) -> list[tuple[date, int]]:
        """``total`` documents over the 365 days up to today (largest remainder rounding)."""
        days = [self.today - timedelta(days=offset) for offset in range(364, -1, -1)]
        weights = [
            WEEKDAY_FACTOR[day.weekday()]
            * MONTH_FACTOR.get(day.month, 1.0)
            * rng.uniform(0.85, 1.15)
            for day in days
        ]
        scale = total / sum(weights)
        exact = [w * scale for w in weights]
        counts = [int(x) for x in exact]
        short = total - sum(counts)
        by_remainder = sorted(range(len(days)), key=lambda i: (counts[i] - exact[i], i))
        for i in by_remainder[:short]:
            counts[i] += 1
        return list(zip(days, counts, strict=True))

    def document_rows(self, users: list[UserSpec], offices: list[OfficeSpec]) -> Iterator[dict]:
        """Every document, in chronological order, as plain dicts (no database access).

        ``reference`` is ``(kind, number)`` of the returned sale for credit notes.
        """
        rng = self.rng("documents")
        sellers = [spec for spec in users if spec.is_seller]
        if not sellers or not self.sizes.documents:
            return
        office_country = {spec.index: spec.country for spec in offices}
        # Some sellers sell much more than others (log-normal weights).
        seller_cum = list(itertools.accumulate(rng.lognormvariate(0, 1) for _ in sellers))
        returnable: dict[int, list[tuple]] = {spec.index: [] for spec in sellers}
        numbers = [0, 0, 0, 0]
        for day, count in self.day_counts(rng, self.sizes.documents):
            if not count:
                continue
            day_sellers = rng.choices(sellers, cum_weights=seller_cum, k=count)
            seconds = sorted(rng.randrange(8 * 3600, 22 * 3600) for _ in range(count))
            for seller, second in zip(day_sellers, seconds, strict=True):
                country = office_country.get(seller.office_index, seller.country)
                rate = TAX_RATE_PERCENT[country]
                kind = bisect_right(KIND_CUM_WEIGHTS, rng.random() * KIND_CUM_WEIGHTS[-1])
                void = rng.random() < VOID_SHARE
                reference = None
                seller_sales = returnable[seller.index]
                if kind == CREDIT_NOTE and not seller_sales:
                    kind = BOLETA
                if kind == CREDIT_NOTE:
                    position = rng.randrange(len(seller_sales))
                    ref_kind, ref_number, ref_total, ref_rate = seller_sales[position]
                    rate = ref_rate
                    if rng.random() < FULL_RETURN_SHARE:
                        total = ref_total
                    else:
                        total = int(ref_total * rng.uniform(0.05, 0.95))
                        if country == COLOMBIA:
                            total -= total % 100
                        total = max(100 if country == COLOMBIA else 1, min(total, ref_total))
                    if not void:  # a sale is returned at most once
                        seller_sales[position] = seller_sales[-1]
                        seller_sales.pop()
                    reference = (ref_kind, ref_number)
                else:
                    if country == COLOMBIA:  # whole pesos, prices ending in 00
                        mu = math.log(380_000 if kind == FACTURA else 45_000)
                        total = max(100, int(round(rng.lognormvariate(mu, 0.9), -2))) * 100
                    else:  # soles with cents, often ending in .90 or .50
                        mu = math.log(650 if kind == FACTURA else 55)
                        total = max(100, int(rng.lognormvariate(mu, 0.9) * 10) * 10)
                numbers[kind] += 1
                if country == COLOMBIA:  # Bsale rounds pesos: 255000 = 214286 + 40714
                    net, tax = (part * 100 for part in split_tax_included(total // 100, rate))
                else:
                    net, tax = split_tax_included(total, rate)
                if kind in (BOLETA, FACTURA) and not void:
                    seller_sales.append((kind, numbers[kind], total, rate))
                    if len(seller_sales) > RETURNABLE_PER_SELLER:
                        seller_sales.pop(0)
                yield {
                    "kind": kind,
                    "number": numbers[kind],
                    "emission_date": day,
                    "expiration_date": (
                        day + timedelta(days=FACTURA_TERM_DAYS) if kind == FACTURA else None
                    ),
                    "generation_date": datetime.combine(day, time(), tzinfo=self.tz)
                    + timedelta(seconds=second),
                    "office_index": seller.office_index,
                    "user_index": seller.index,
                    "net_amount": cents(net),
                    "tax_amount": cents(tax),
                    "exempt_amount": Decimal("0.00"),
                    "total_amount": cents(total),
                    "state": 1 if void else 0,
                    "reference": reference,
                }

    def load_documents(
        self,
        users: list[UserSpec],
        offices: list[OfficeSpec],
        office_ids: dict[int, int],
        user_ids: dict[int, int],
        type_ids: list[int],
    ) -> None:
        bar = self.progress("documents", self.sizes.documents)
        created = existing = 0
        # On a first load there is nothing to skip: no per-batch lookups.
        check = Document.objects.filter(document_type_id__in=type_ids).exists()
        for batch in _batches(self.document_rows(users, offices), self.batch_size):
            new, old = self._insert_documents(batch, office_ids, user_ids, type_ids, check)
            created += new
            existing += old
            bar.update(len(batch))
        bar.close()
        self._count("documents", created, existing)

    def _insert_documents(
        self, rows, office_ids, user_ids, type_ids, check: bool = True
    ) -> tuple[int, int]:
        # Skip what a previous run inserted: folios of one batch are a narrow range per type.
        present: set[tuple[int, int]] = set()
        by_kind: dict[int, list[int]] = {}
        for row in rows:
            by_kind.setdefault(row["kind"], []).append(row["number"])
        for kind, numbers in by_kind.items() if check else ():
            present.update(
                (kind, number)
                for number in Document.objects.filter(
                    document_type_id=type_ids[kind],
                    number__gte=min(numbers),
                    number__lte=max(numbers),
                ).values_list("number", flat=True)
            )
        already = len(rows)
        rows = [row for row in rows if (row["kind"], row["number"]) not in present]
        already -= len(rows)
        if not rows:
            return 0, already

        def build(row, reference_id=None) -> dict:
            if row["state"]:
                self.stats.void += 1
            return {
                "document_type_id": type_ids[row["kind"]],
                "number": row["number"],
                "emission_date": row["emission_date"],
                "expiration_date": row["expiration_date"],
                "generation_date": row["generation_date"],
                "office_id": office_ids.get(row["office_index"]) if row["office_index"] else None,
                "user_id": user_ids[row["user_index"]],
                "net_amount": row["net_amount"],
                "tax_amount": row["tax_amount"],
                "exempt_amount": row["exempt_amount"],
                "total_amount": row["total_amount"],
                "state": row["state"],
                "reference_document_id": reference_id,
            }

        sales = [row for row in rows if row["reference"] is None]
        returns = [row for row in rows if row["reference"] is not None]
        with transaction.atomic():
            insert_ignoring_conflicts(Document, [build(row) for row in sales], self.batch_size)
            if returns:
                # The returned sales are in this batch or an earlier one: one query per type.
                referenced: dict[int, set[int]] = {}
                for row in returns:
                    kind, number = row["reference"]
                    referenced.setdefault(kind, set()).add(number)
                reference_ids = {}
                for kind, numbers in referenced.items():
                    for number, pk in Document.objects.filter(
                        document_type_id=type_ids[kind], number__in=sorted(numbers)
                    ).values_list("number", "id"):
                        reference_ids[(kind, number)] = pk
                insert_ignoring_conflicts(
                    Document,
                    [build(row, reference_ids.get(row["reference"])) for row in returns],
                    self.batch_size,
                )
                self.stats.credit_notes += len(returns)
        return len(rows), already

    # --- Sales history ------------------------------------------------------------------

    def history_rows(self, users: list[UserSpec]) -> Iterator[dict]:
        """Every history entry, grouped by user, as plain dicts (no database access)."""
        rng = self.rng("history")
        total = self.sizes.history
        merchants = [spec for spec in users if not spec.is_seller] or list(users)
        if not merchants or not total:
            return
        # Some merchants buy a lot, many a little, about a third never report.
        weights = [rng.paretovariate(1.5) if rng.random() < 0.7 else 0.0 for _ in merchants]
        if not any(weights):
            weights = [1.0] * len(merchants)
        picks = Counter(
            rng.choices(
                range(len(merchants)), cum_weights=list(itertools.accumulate(weights)), k=total
            )
        )
        emc_tables = {
            country: (
                [name for name, _w in companies],
                list(itertools.accumulate(w for _n, w in companies)),
            )
            for country, companies in EMCS.items()
        }
        midnight = datetime.combine(self.today, time(), tzinfo=self.tz)
        for position, merchant in enumerate(merchants):
            count = picks.get(position, 0)
            if not count:
                continue
            names, cum = emc_tables[merchant.country]
            seen: set[tuple] = set()
            while len(seen) < count:
                emc = rng.choices(names, cum_weights=cum)[0]
                when = (
                    midnight
                    - timedelta(days=rng.randrange(365))
                    + timedelta(seconds=rng.randrange(6 * 3600, 19 * 3600))
                )
                key = (emc, when)
                if key in seen:
                    continue
                seen.add(key)
                if merchant.country == COLOMBIA:
                    amount = Decimal(rng.randrange(50, 3_000) * 1_000)
                else:
                    amount = cents(rng.randrange(5_000, 500_000))
                yield {
                    "user_index": merchant.index,
                    "nit": EMC_NITS[(merchant.country, emc)],
                    "amount": amount.quantize(Decimal("0.01")),
                    "date": when,
                    "emc": emc,
                }

    def load_history(self, users: list[UserSpec], user_ids: dict[int, int]) -> None:
        bar = self.progress("history", self.sizes.history)
        created = existing = 0
        # On a first load there is nothing to skip: no per-batch lookups.
        check = SalesHistoryEntry.objects.filter(
            user__username__startswith=USERNAME_PREFIX
        ).exists()
        for batch in _batches(self.history_rows(users), self.batch_size):
            batch_user_ids = {user_ids[row["user_index"]] for row in batch}
            present = (
                set(
                    SalesHistoryEntry.objects.filter(user_id__in=batch_user_ids).values_list(
                        "user_id", "nit", "date", "emc"
                    )
                )
                if check
                else set()
            )
            objs = []
            for row in batch:
                user_id = user_ids[row["user_index"]]
                if (user_id, row["nit"], row["date"], row["emc"]) in present:
                    existing += 1
                    continue
                objs.append(
                    {
                        "user_id": user_id,
                        "nit": row["nit"],
                        "amount": row["amount"],
                        "date": row["date"],
                        "emc": row["emc"],
                        "created_at": row["date"],
                        "updated_at": row["date"],
                    }
                )
            if objs:
                with transaction.atomic():
                    insert_ignoring_conflicts(SalesHistoryEntry, objs, self.batch_size)
            created += len(objs)
            bar.update(len(batch))
        bar.close()
        self._count("history entries", created, existing)

    def _count(self, name: str, created: int, existing: int) -> None:
        self.stats.created[name] = created
        self.stats.existing[name] = existing
