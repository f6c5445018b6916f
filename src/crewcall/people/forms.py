"""Forms of the employee pages. They check the shape of the input only; the rules live in
people.services, whose ValidationFailed is shown on the form (crewcall.ui.writes)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crewcall.people.models import AbsenceKind, Employee, EmploymentType, Language, Role, Skill

STATUS_CHOICES = [("active", _("Active")), ("archived", _("Archived")), ("all", _("All"))]


class EmployeeFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name or phone")}),
    )
    role = forms.ModelChoiceField(label=_("Role"), queryset=Role.objects.none(), required=False,
                                  empty_label=_("Any role"))  # fmt: skip
    skill = forms.ModelChoiceField(label=_("Skill"), queryset=Skill.objects.none(), required=False,
                                   empty_label=_("Any skill"))  # fmt: skip
    employment_type = forms.ChoiceField(
        label=_("Type"), required=False, choices=[("", _("Any type")), *EmploymentType.choices]
    )
    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_CHOICES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = Role.objects.order_by("name")  # type: ignore[attr-defined]
        self.fields["skill"].queryset = Skill.objects.order_by("name")  # type: ignore[attr-defined]

    def filters(self) -> dict[str, Any]:
        """Selector arguments; an invalid filter counts as not given."""
        data = self.cleaned_data if self.is_valid() else {}
        role, skill = data.get("role"), data.get("skill")
        active = {"active": True, "archived": False, "all": None}.get(data.get("status") or "active")
        return {
            "search": (data.get("q") or "").strip(),
            "role_id": role.pk if role else None,
            "skill_id": skill.pk if skill else None,
            "employment_type": data.get("employment_type") or None,
            "active": active,
        }


class EmployeeForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    phone_number = forms.CharField(
        label=_("Phone number"),
        max_length=30,
        help_text=_("International (+49 151 …) or German national format."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    primary_role = forms.ModelChoiceField(label=_("Primary role"), queryset=Role.objects.none())
    employment_type = forms.ChoiceField(label=_("Employment type"), choices=EmploymentType.choices)
    skills = forms.ModelMultipleChoiceField(
        label=_("Skills"), queryset=Skill.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    is_always_needed = forms.BooleanField(label=_("Always needed (asked first)"), required=False)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    preferred_language = forms.ChoiceField(
        label=_("Preferred language"), choices=Language.choices, initial=Language.GERMAN
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    # What is shown side by side when a save meets a newer version.
    COMPARED = (
        "name",
        "phone_number",
        "primary_role",
        "employment_type",
        "skills",
        "is_always_needed",
        "notes",
        "preferred_language",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        active_roles = Role.objects.filter(is_active=True)
        active_skills = Skill.objects.filter(is_active=True)
        if self.initial.get("primary_role"):
            active_roles = active_roles | Role.objects.filter(pk=self.initial["primary_role"])
        if self.initial.get("skills"):
            active_skills = active_skills | Skill.objects.filter(pk__in=self.initial["skills"])
        self.fields["primary_role"].queryset = active_roles.order_by("name")  # type: ignore[attr-defined]
        self.fields["skills"].queryset = active_skills.order_by("name")  # type: ignore[attr-defined]

    @classmethod
    def initial_from(cls, employee: Employee) -> dict[str, Any]:
        return {
            "name": employee.name,
            "phone_number": employee.phone_number or "",
            "primary_role": employee.primary_role_id,
            "employment_type": employee.employment_type,
            "skills": [s.pk for s in employee.skills.all()],
            "is_always_needed": employee.is_always_needed,
            "notes": employee.notes,
            "preferred_language": employee.preferred_language,
            "version": employee.version,
        }

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "phone_number": data["phone_number"],
            "primary_role": data["primary_role"],
            "employment_type": data["employment_type"],
            "is_always_needed": data["is_always_needed"],
            "notes": data["notes"],
            "preferred_language": data["preferred_language"],
        }

    @staticmethod
    def display(field: str, value: Any) -> str:
        """A value as the conflict view shows it."""
        if field == "skills":
            return ", ".join(str(s) for s in value) or "—"
        if field == "is_always_needed":
            return str(_("yes") if value else _("no"))
        if field == "employment_type":
            return str(EmploymentType(value).label) if value in EmploymentType.values else str(value)
        if field == "preferred_language":
            return str(Language(value).label) if value in Language.values else str(value)
        return str(value) if value not in (None, "") else "—"


class AbsenceForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=AbsenceKind.choices)
    starts_on = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), required=False, max_length=200)


class LinkDayForm(forms.Form):
    """The last day a personal link shown on the employee's page should open it (GET)."""

    link_until = forms.DateField(
        label=_("Valid until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class VersionForm(forms.Form):
    """The version a button's page showed (archive, restore, anonymise, delete)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
