from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from hub.models import ApiKey, SystemSettings, TaskRun, User
from hub.services import api_key_create
from hub.signals import has_history


class KeepsHistoryAdmin(admin.ModelAdmin):
    """Users, keys and providers with requests are disabled, never deleted: their history stays
    attributable and no cascade walks the request table."""

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and has_history(obj):
            return False
        return super().has_delete_permission(request, obj)


def switch_action(field: str, value: bool, description, done, *, spare_self: bool = False):
    """An admin action setting ``field`` to ``value`` on the selected rows; ``done(count)`` says
    what happened. ``spare_self``: never applied to the admin's own row."""

    def action(modeladmin, request, queryset):
        if spare_self:
            queryset = queryset.exclude(pk=request.user.pk)
        count = queryset.update(**{field: value})
        modeladmin.message_user(request, done(count))

    action.__name__ = f"{'enable' if value else 'disable'}_{field}"
    return admin.action(description=description)(action)


@admin.register(User)
class UserAdmin(KeepsHistoryAdmin, DjangoUserAdmin):
    list_display = ("username", "display_name", "email", "role", "is_active", "last_login", "date_joined")
    list_filter = ("role", "is_active")
    search_fields = ("username", "display_name", "email")
    ordering = ("username",)
    actions = ("disable_users", "enable_users")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Profile"), {"fields": ("display_name", "first_name", "last_name", "email")}),
        (_("Access"), {"fields": ("role", "is_active")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("username", "display_name", "role", "password1", "password2")},
        ),
    )
    readonly_fields = ("last_login", "date_joined")

    disable_users = switch_action(
        "is_active", False, _("Disable selected users"),
        lambda count: ngettext("%d user disabled.", "%d users disabled.", count) % count, spare_self=True,
    )  # fmt: skip
    enable_users = switch_action(
        "is_active", True, _("Enable selected users"),
        lambda count: ngettext("%d user enabled.", "%d users enabled.", count) % count,
    )  # fmt: skip


@admin.register(ApiKey)
class ApiKeyAdmin(KeepsHistoryAdmin):
    list_display = (
        "name",
        "prefix",
        "owner",
        "enabled",
        "scope_list",
        "expires_at",
        "last_used_at",
        "created_at",
    )
    list_filter = ("enabled", "scope_ingest", "scope_read", "scope_metrics")
    search_fields = ("name", "prefix", "owner__username", "owner__display_name")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    actions = ("disable_keys", "enable_keys")
    readonly_fields = ("prefix", "last_used_at", "created_at")

    def get_fields(self, request, obj=None):
        fields = ["name", "owner", "enabled", "scope_ingest", "scope_read", "scope_metrics", "expires_at"]
        return fields + (["prefix", "last_used_at", "created_at"] if obj else [])

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        fields = ("owner", "name", "scope_ingest", "scope_read", "scope_metrics", "expires_at", "enabled")
        created = api_key_create(**{name: getattr(obj, name) for name in fields})
        obj.pk = created.key.pk
        obj.prefix = created.key.prefix
        obj._created_secret = created.secret  # lives only for this response

    def response_add(self, request, obj, post_url_continue=None):
        # The only moment the secret exists in clear: show it once, never redirect to it.
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "key": obj,
            "secret": obj._created_secret,
            "title": _("API key created"),
            "changelist_url": reverse("admin:hub_apikey_changelist"),
        }
        response = TemplateResponse(request, "admin/hub/apikey/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    disable_keys = switch_action(
        "enabled", False, _("Disable selected keys"),
        lambda count: ngettext("%d key disabled.", "%d keys disabled.", count) % count,
    )  # fmt: skip
    enable_keys = switch_action(
        "enabled", True, _("Enable selected keys"),
        lambda count: ngettext("%d key enabled.", "%d keys enabled.", count) % count,
    )  # fmt: skip


@admin.register(SystemSettings)
class SystemSettingsAdmin(admin.ModelAdmin):
    fieldsets = (
        (None, {"fields": ("timezone", "allow_global_usage_view")}),
        (
            _("Storage"),
            {
                "fields": (
                    "store_session_messages",
                    "session_messages_days",
                    "attribute_max_length",
                    "log_retention_days",
                )
            },
        ),
        (_("Ingestion"), {"fields": ("bill_original_model", "session_header", "ingest_rate_per_minute")}),
    )

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        # One row: the list is pointless, go straight to it.
        settings_row = SystemSettings.get()
        return redirect(reverse("admin:hub_systemsettings_change", args=[settings_row.pk]))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        messages.info(request, _("Settings saved; they apply to the next page you open."))


# Access is the user's role (admin/user); Django's groups would be a second, unused policy.
admin.site.unregister(Group)
admin.site.site_header = _("LLM Usage Hub administration")
admin.site.site_title = _("LLM Usage Hub")
admin.site.index_title = _("Administration")


@admin.register(TaskRun)
class TaskRunAdmin(admin.ModelAdmin):
    """One page with every scheduled task's last run, and when beat runs it next."""

    list_display = (
        "task", "schedule", "outcome", "started_at", "duration", "last_success_at", "runs", "failures", "detail",
    )  # fmt: skip
    list_filter = ("outcome",)
    ordering = ("task",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("schedule"))
    def schedule(self, obj: TaskRun) -> str:
        return beat_schedule().get(obj.task, "—")

    @admin.display(description=_("duration (s)"), ordering="duration_seconds")
    def duration(self, obj: TaskRun) -> str:
        return "—" if obj.duration_seconds is None else f"{obj.duration_seconds:.2f}"


def beat_schedule() -> dict[str, str]:
    """Task name -> when Celery beat runs it, as configured in settings."""
    from django.conf import settings

    found = {}
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        schedule = entry["schedule"]
        found[entry["task"]] = (
            f"every {schedule:g} s" if isinstance(schedule, int | float) else str(schedule).strip("<>")
        )
    return found
