from django.contrib import admin
from django.urls import include, path, re_path

from crewcall.api import api
from crewcall.changes import views as changes_views
from crewcall.core.api.problems import api_not_found
from crewcall.events import urls as events_urls
from crewcall.messaging import views as messaging_views
from crewcall.messaging import webhooks
from crewcall.staffing import urls as staffing_urls
from crewcall.staffing.views import simulator as simulator_views
from crewcall.web import auth as web_auth
from crewcall.web import personal, personal_pages, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("crewcall.ops.urls")),
    path("login/", web_auth.SignInView.as_view(), name="login"),
    path("logout/", web_auth.SignOutView.as_view(), name="logout"),
    path("api/v1/changes", changes_views.changes_stream, name="changes-stream"),
    path("api/v1/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", api_not_found),
    path("admin/", admin.site.urls),
    # The header's language switch posts to set_language (i18n/setlang/).
    path("i18n/", include("django.conf.urls.i18n")),
    path("employees/", include("crewcall.people.urls")),
    path("events/<int:event_id>/board/", include("crewcall.staffing.urls")),
    # The event pages are events'; their status actions (transition, cancel) staffing's.
    path("events/", include((events_urls.urlpatterns + staffing_urls.event_urlpatterns, "events"))),
    path("messages/", include("crewcall.messaging.page_urls")),
    path("users/", include("crewcall.accounts.urls")),
    path("", include("crewcall.web.urls")),
    path("webhooks/twilio/whatsapp", webhooks.whatsapp_inbound, name="webhook-whatsapp"),
    path("webhooks/twilio/status", webhooks.delivery_status, name="webhook-status"),
    path("simulator/", messaging_views.conversations, name="simulator"),
    path("simulator/<int:employee_id>/", simulator_views.conversation, name="simulator-conversation"),
    path("simulator/<int:employee_id>/reply", simulator_views.reply, name="simulator-reply"),
    path("r/<str:token>/", personal_pages.personal_page, name="employee-page"),
    path(
        "r/<str:token>/answer/<int:invitation_id>",
        personal_pages.personal_answer_view,
        name="employee-answer",
    ),
    path("r/<str:token>/calendar.ics", personal.employee_calendar, name="employee-calendar"),
]

# Every exception no layer answered: 503 when the database cannot answer, else 500 (ui/errors.py).
handler500 = "crewcall.ui.errors.server_error"
