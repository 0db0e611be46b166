from django.contrib.admin.apps import AdminConfig


class ManaAdminConfig(AdminConfig):
    """django.contrib.admin with the operator gate of console.admin_site."""

    default_site = "console.admin_site.ManaAdminSite"
