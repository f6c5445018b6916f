from django.apps import AppConfig


class StaffingConfig(AppConfig):
    name = "crewcall.staffing"
    label = "staffing"

    def ready(self) -> None:
        # Imported here: models are not loaded yet when this module is.
        from crewcall.events.selectors import invitation_figures_register
        from crewcall.staffing.selectors import INVITATION_FIGURES

        invitation_figures_register(INVITATION_FIGURES)
