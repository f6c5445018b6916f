from django.apps import AppConfig


class StaffingConfig(AppConfig):
    name = "crewcall.staffing"
    label = "staffing"
