"""The page write path: a page view hands its service call to `run_write`, which turns
the service's refusals into the page's answer in one place, as the API's problem handler
does for JSON. Nothing was written whenever it refuses.

- ValidationFailed (RuleViolation too): with a form, each message beside the field it
  names (`show_errors`); without one, each message as an error message (after `prefix`)
  on the page the view goes back to;
- VersionConflict: `conflict` is the page's conflict view (a callable giving the answer)
  or the sentence to show like any refusal;
- NotFound: the page's own object is gone, 404; unless `missing` says the page stands and
  the refusal is shown (True: in the service's words; a text: in that text);
- Busy: its message, shown like any refusal (try again).

"Shown like any refusal" is above the form when there is one, else an error message.
The view reads the `Written`: `ok` (and `value`, the service's result) when it wrote,
`answer` when the page answers with its conflict view.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse

from crewcall.core.errors import Busy, NotFound, ValidationFailed, VersionConflict

T = TypeVar("T")


class Written(Generic[T]):
    """What became of one write."""

    __slots__ = ("_value", "answer", "ok")

    def __init__(self, *, ok: bool, value: T | None = None, answer: HttpResponse | None = None) -> None:
        self.ok = ok
        self._value = value
        self.answer = answer

    @property
    def value(self) -> T:
        """The service's result; only a write that happened has one."""
        if not self.ok:
            raise RuntimeError("The write was refused: there is no value.")
        return self._value  # type: ignore[return-value]  # T itself may be None-able


def show_errors(
    form: forms.BaseForm, error: ValidationFailed, *, fields: Mapping[str, str] | None = None
) -> None:
    """A service's field errors on the form, each beside the field it names (`fields` maps
    the service's names to the form's where they differ). A name the form lacks, or one of
    its hidden fields (the version), goes above the form, where it is seen."""
    for name, texts in error.errors.items():
        target = (fields or {}).get(name, name)
        field = form.fields.get(target)
        shown_at = target if field is not None and not field.widget.is_hidden else None
        for text in texts:
            form.add_error(shown_at, text)


def run_write(
    request: HttpRequest,
    write: Callable[[], T],
    *,
    form: forms.BaseForm | None = None,
    conflict: str | Callable[[], HttpResponse] | None = None,
    missing: str | bool = False,
    prefix: str = "",
    fields: Mapping[str, str] | None = None,
) -> Written[T]:
    """Run `write` (one service call) and answer its refusal as the module says."""

    def refuse(text: str) -> Written[T]:
        if form is not None:
            form.add_error(None, text)
        else:
            messages.error(request, text)
        return Written(ok=False)

    try:
        value = write()
    except VersionConflict as error:
        if conflict is None or isinstance(conflict, str):
            return refuse(conflict or error.message)
        return Written(ok=False, answer=conflict())
    except ValidationFailed as error:
        if form is not None:
            show_errors(form, error, fields=fields)
        else:
            for texts in error.errors.values():
                for text in texts:
                    messages.error(request, f"{prefix}{text}")
        return Written(ok=False)
    except NotFound as error:
        if missing is False:
            raise Http404(error.message) from None
        return refuse(error.message if missing is True else str(missing))
    except Busy as error:
        return refuse(error.message)
    return Written(ok=True, value=value)
