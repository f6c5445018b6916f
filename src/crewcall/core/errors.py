"""Errors every entry point understands; the API turns them into problem+json later.

Each carries a stable `code`, an HTTP status and, where a field is at fault, the field.
"""

from __future__ import annotations

from django.utils.translation import gettext as _


class CrewcallError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str) -> None:
        # Messages are worded in the request's language; a lazy one is made text here,
        # so JSON answers and forms only ever see str.
        message = str(message)
        super().__init__(message)
        self.message = message


class ValidationFailed(CrewcallError):
    """Bad input: one or more fields named with what is wrong with each.

    Its code, `invalid_value`, tells an API client the request had the schema's shape but
    a value broke a rule the schema cannot state (a phone number that does not exist, an
    end before its start, a key not in the catalogue); a request that does not fit the
    schema at all is `validation_failed` (core/api/problems.py)."""

    code = "invalid_value"
    status = 422

    def __init__(self, errors: dict[str, list[str]]) -> None:
        errors = {field: [str(message) for message in messages] for field, messages in errors.items()}
        self.errors = errors
        text = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())
        super().__init__(text)

    @classmethod
    def single(cls, field: str, message: str) -> ValidationFailed:
        return cls({field: [message]})


class RuleViolation(ValidationFailed):
    """A rule the database itself refused (constraint or trigger), mapped to its field."""

    code = "rule_violation"
    status = 409

    def __init__(self, *, field: str, message: str, constraint: str) -> None:
        self.constraint = constraint
        super().__init__({field: [message]})


class VersionConflict(CrewcallError):
    """The row changed since the caller read it: nothing was written."""

    code = "version_conflict"
    status = 412

    def __init__(self, *, entity: str, pk: object, expected: int, current: int) -> None:
        self.entity = entity
        self.pk = pk
        self.expected = expected
        self.current = current
        super().__init__(
            _(
                "%(entity)s %(pk)s was changed by someone else: you read version %(expected)s, "
                "it is now at version %(current)s. Reload and apply your change again."
            )
            % {"entity": entity, "pk": pk, "expected": expected, "current": current}
        )


class NotFound(CrewcallError):
    code = "not_found"
    status = 404


class Busy(CrewcallError):
    """A lock could not be had in time; nothing was written, try again."""

    code = "busy"
    status = 503


class CommitOutcomeUnknown(CrewcallError):
    """The connection broke while committing: the change may or may not be stored."""

    code = "commit_outcome_unknown"
    status = 503
