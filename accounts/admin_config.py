from django.contrib.admin.apps import AdminConfig


class ManaAdminConfig(AdminConfig):
    """django.contrib.admin with the operator gate of accounts.admin_site."""

    default_site = "accounts.admin_site.ManaAdminSite"
