import importlib.util

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from community import public_views
from community import views as community_views
from community.auth import ObtainTokenView

# Each building block's pages live under its community: /c/<slug>/<mount>/.
# (module, mount, namespace); a module that does not exist yet is skipped.
APP_PAGES = [
    ("assets.urls", "energy/", "assets"),
    ("assets.coop.urls", "coop/", "coop"),
    ("lem.urls", "market/", "lem"),
    ("assets.purchasing.urls", "buy/", "purchasing"),
    ("vpp.urls", "flex/", "vpp"),
    ("vpp.balancing.urls", "grid/", "balancing"),
    ("planning.urls", "plan/", "planning"),
    ("planning.marketplace.urls", "projects/", "marketplace"),
]
APP_APIS = [
    ("assets.api_urls", "assets-api"),
    ("assets.coop.api_urls", "coop-api"),
    ("lem.api_urls", "lem-api"),
    ("assets.purchasing.api_urls", "purchasing-api"),
    ("vpp.api_urls", "vpp-api"),
    ("vpp.balancing.api_urls", "balancing-api"),
    ("planning.api_urls", "planning-api"),
    ("planning.marketplace.api_urls", "marketplace-api"),
]


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


community_patterns = [path("", include(("community.urls", "community")))]
community_patterns += [
    path(mount, include((module, namespace))) for module, mount, namespace in APP_PAGES if _exists(module)
]
api_patterns = [path("", include(("community.api_urls", "community-api")))]
api_patterns += [path("", include((module, namespace))) for module, namespace in APP_APIS if _exists(module)]

urlpatterns = [
    path("", community_views.home, name="home"),
    path("healthz", community_views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("accounts/data/", community_views.my_data, name="my_data"),
    path("accounts/data/download.<str:fmt>", community_views.my_data_download, name="my_data_download"),
    path("invite/<str:token>/", community_views.invitation_accept, name="invitation_accept"),
    path("c/<slug:slug>/", include(community_patterns)),
    path("p/<slug:slug>/", public_views.public_page, name="community_public"),
    path("api/v1/", include(api_patterns)),
    path("api/v1/auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]
