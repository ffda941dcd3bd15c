"""The Bsale representation of an office."""

from common.bsale.resources import STATE, Attr, Resource, flag

OFFICE_RESOURCE = Resource(
    name="offices",
    permissions=("offices.view_office",),
    attributes=[
        Attr("name", "name"),
        Attr("description", "description"),
        Attr("address", "address"),
        Attr("latitude", "latitude"),
        Attr("longitude", "longitude"),
        Attr("isVirtual", "is_virtual", flag),
        Attr("country", "country"),
        Attr("municipality", "municipality"),
        Attr("city", "city"),
        Attr("zipCode", "zip_code"),
        Attr("costCenter", "cost_center"),
        Attr("state", "state", schema=STATE),
    ],
)
