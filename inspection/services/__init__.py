"""Services: the workflows that write. Views, commands and tasks call these; they raise
`DomainError`s, which the interface layer translates once (the API in `inspection.api.errors`)."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain said no. `code` is stable and machine-readable; `detail` is for
    humans."""

    code = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
