from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from hub.models import ApiKey, SystemSettings, User
from hub.services import api_key_create
from hub.signals import has_history


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
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

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # history stays attributable: disable, don't delete
        return actions

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and has_history(obj):
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description=_("Disable selected users"))
    def disable_users(self, request, queryset):
        count = queryset.exclude(pk=request.user.pk).update(is_active=False)
        self.message_user(request, ngettext("%d user disabled.", "%d users disabled.", count) % count)

    @admin.action(description=_("Enable selected users"))
    def enable_users(self, request, queryset):
        count = queryset.update(is_active=True)
        self.message_user(request, ngettext("%d user enabled.", "%d users enabled.", count) % count)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
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
    list_filter = ("enabled", "scope_ingest", "scope_read")
    search_fields = ("name", "prefix", "owner__username", "owner__display_name")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    actions = ("disable_keys", "enable_keys")
    readonly_fields = ("prefix", "last_used_at", "created_at")

    def get_fields(self, request, obj=None):
        fields = ["name", "owner", "enabled", "scope_ingest", "scope_read", "expires_at"]
        return fields + (["prefix", "last_used_at", "created_at"] if obj else [])

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and has_history(obj):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        created = api_key_create(
            owner=obj.owner,
            name=obj.name,
            scope_ingest=obj.scope_ingest,
            scope_read=obj.scope_read,
            expires_at=obj.expires_at,
            enabled=obj.enabled,
        )
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

    @admin.action(description=_("Disable selected keys"))
    def disable_keys(self, request, queryset):
        count = queryset.update(enabled=False)
        self.message_user(request, ngettext("%d key disabled.", "%d keys disabled.", count) % count)

    @admin.action(description=_("Enable selected keys"))
    def enable_keys(self, request, queryset):
        count = queryset.update(enabled=True)
        self.message_user(request, ngettext("%d key enabled.", "%d keys enabled.", count) % count)


@admin.register(SystemSettings)
class SystemSettingsAdmin(admin.ModelAdmin):
    fieldsets = (
        (None, {"fields": ("timezone", "allow_global_usage_view")}),
        (_("Storage"), {"fields": ("store_session_messages", "attribute_max_length", "log_retention_days")}),
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
