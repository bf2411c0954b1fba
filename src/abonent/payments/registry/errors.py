from __future__ import annotations

from abonent.kit.errors import InvalidInput, NotFound


class RegistryInvalid(InvalidInput):
    """The file has bad lines (``extra['problems']``): refused as a whole, nothing imported."""

    default_code = "registry_invalid"


class RegistryOptionsInvalid(InvalidInput):
    """The options describing the file (columns, delimiter, encoding, date) do not make sense."""

    default_code = "registry_options_invalid"


class RegistryNotFound(NotFound):
    default_code = "registry_not_found"
