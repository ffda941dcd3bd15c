"""The sales app's permission names, defined once."""

VIEW_DOCUMENT = "sales.view_document"
VIEW_DOCUMENT_TYPE = "sales.view_documenttype"
