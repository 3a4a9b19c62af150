"""GeckoTerminal API v2 access: typed records (``records``), the one normalisation layer
(``parse``) and the error hierarchy (``errors``). Kept import-light: no Django, no HTTP here."""
