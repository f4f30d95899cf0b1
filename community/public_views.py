"""The community's public page and the convenor's settings for it (issue 15)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from community import public, selectors
from community.access import community_view
from community.errors import DomainError
from community.models import Community, Role
from community.services.public import community_public_page_set


class PublicPageForm(forms.Form):
    public_page = forms.BooleanField(required=False, label="Show a public page to anyone, without logging in")
    public_sections = forms.MultipleChoiceField(
        required=False,
        choices=list(public.SECTIONS.items()),
        widget=forms.CheckboxSelectMultiple,
        label="What it shows",
    )
    join_text = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="How to join",
        help_text="E.g. who to write to, when the next open meeting is.",
    )


def public_page(request: HttpRequest, slug: str) -> HttpResponse:
    community = get_object_or_404(Community, slug=slug)
    if not community.public_page:
        raise Http404("This community has no public page.")
    sections = set(public.visible_sections(community))
    ctx = {
        "public_community": community,
        "sections": sections,
        "panels": public.public_panels(community),
        "counts": selectors.role_counts(community) if "about" in sections else {},
        "site_total": community.sites.count() if "about" in sections else 0,
        "homes": community.sites.filter(kind="home").count() if "about" in sections else 0,
    }
    return render(request, "community/public.html", ctx)


@community_view(roles=[Role.CONVENOR])
def public_settings(request: HttpRequest, community) -> HttpResponse:
    if request.method == "POST":
        form = PublicPageForm(request.POST)
        if form.is_valid():
            try:
                community_public_page_set(
                    community=community,
                    actor=request.user,
                    enabled=form.cleaned_data["public_page"],
                    sections=form.cleaned_data["public_sections"],
                    join_text=form.cleaned_data["join_text"],
                )
            except DomainError as e:
                form.add_error(e.field if e.field in form.fields else None, e.message)
            else:
                messages.success(request, "Public page saved.")
                return redirect("community:public_settings", slug=community.slug)
    else:
        form = PublicPageForm(
            initial={
                "public_page": community.public_page,
                "public_sections": community.public_sections or public.DEFAULT_SECTIONS,
                "join_text": community.join_text,
            }
        )
    return render(request, "community/public_settings.html", {"community": community, "form": form})
