"""Errors raised by the domain layer. Messages are Chinese because they reach the user as-is."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: ``str(err)`` is a message fit to show to the user."""


class FormInvalid(DomainError):
    """The form has wrong fields. ``errors`` maps field name → Chinese message naming the field."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("；".join(self.errors.values()))


class NotAllowed(DomainError):
    """The actor's role or the inquiry's state does not permit this action."""


class NotFound(DomainError):
    """No such record, or the actor may not know that it exists."""


class Conflict(DomainError):
    """Someone else changed the record in the meantime; nothing was overwritten."""
