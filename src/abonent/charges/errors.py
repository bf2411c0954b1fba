from __future__ import annotations

from collections.abc import Sequence

from abonent.charges.schemas import RowError
from abonent.kit.errors import Conflict, InvalidInput


class ChargeFileInvalid(InvalidInput):
    """The file has bad rows: nothing was imported. ``errors`` lists every one of them."""

    default_code = "charges_file_invalid"

    def __init__(self, errors: Sequence[RowError], rows: int) -> None:
        lines = len({e.line for e in errors})
        super().__init__(
            f"{lines} of {rows} rows are invalid; nothing was imported",
            errors=[e.as_dict() for e in errors],
        )
        self.errors = list(errors)
        self.rows = rows


class ChargeConflict(Conflict):
    """An external id already in the ledger arrived again with other content."""

    default_code = "charge_external_id_conflict"

    def __init__(self, errors: Sequence[RowError]) -> None:
        super().__init__(
            f"{len(errors)} charges were already imported with other content; "
            "this batch was not imported",
            errors=[e.as_dict() for e in errors],
        )
        self.errors = list(errors)


class PeriodInvalid(InvalidInput):
    default_code = "period_invalid"
