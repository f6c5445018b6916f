"""`{% conflict_base form %}`: the values an edit form was opened with, as hidden inputs,
so a conflict can be merged three ways (crewcall.ui.conflicts)."""

from __future__ import annotations

from django import forms, template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from crewcall.ui.conflicts import base_inputs

register = template.Library()


@register.simple_tag
def conflict_base(form: forms.BaseForm) -> SafeString:
    return format_html_join("", '<input type="hidden" name="{}" value="{}">', base_inputs(form))
