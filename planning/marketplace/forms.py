"""Forms only collect input; the services validate and write."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from assets.coop.models import BenefitFund
from community.models import Community, Membership, Role
from planning.models import Milestone as PlanAction

from .models import Call, Campaign, Proposal, Review

DT = {"type": "datetime-local"}


class CallForm(forms.Form):
    fund = forms.ModelChoiceField(queryset=BenefitFund.objects.none(), help_text="The fund the awards come from.")
    title = forms.CharField(max_length=200)
    objectives = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    budget = forms.DecimalField(decimal_places=2, min_value=0, label="Budget (£)")
    max_award = forms.DecimalField(decimal_places=2, min_value=0, label="Largest award (£)")
    opens_at = forms.DateTimeField(widget=forms.DateTimeInput(attrs=DT), label="Opens")
    deadline = forms.DateTimeField(widget=forms.DateTimeInput(attrs=DT), label="Deadline")
    stages = forms.ChoiceField(choices=Call.Stages.choices)
    full_deadline = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs=DT), required=False, label="Full proposals by (two-stage)"
    )
    community_review = forms.BooleanField(required=False, label="Members vote on proposals (one member, one vote)")
    criteria = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One a line: 'Criterion | weight | top of the scale', e.g. 'Carbon saved | 3 | 5'.",
    )
    eligibility = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="One a line: 'Question | yes' (or '| no'): the answer an eligible project gives.",
    )
    support = forms.CharField(required=False, help_text="What is on offer besides money, comma-separated.")
    second_approval_over = forms.DecimalField(
        decimal_places=2, min_value=0, initial=5000, label="Two approvers above (£)"
    )

    def __init__(self, *args, community: Community, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fund"].queryset = BenefitFund.objects.filter(community=community)

    def parsed_criteria(self) -> list[dict]:
        rows = []
        for n, line in enumerate(self.cleaned_data["criteria"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            if len(parts) != 3:
                raise forms.ValidationError(f"Criterion line {n} needs 'name | weight | scale'.")
            rows.append({"name": parts[0], "weight": parts[1], "scale_max": parts[2]})
        return rows

    def parsed_eligibility(self) -> list[dict]:
        rows = []
        for line in (self.cleaned_data.get("eligibility") or "").splitlines():
            if not line.strip():
                continue
            text, _, answer = line.rpartition("|") if "|" in line else (line, "", "yes")
            rows.append({"text": text.strip(), "must_be": answer.strip().lower() not in ("no", "n", "false")})
        return rows


YES_NO = [("", "—"), ("yes", "Yes"), ("no", "No")]


class ProposalForm(forms.Form):
    title = forms.CharField(max_length=200)
    summary = forms.CharField(max_length=300, required=False, help_text="One sentence for the funded-projects page.")
    organisation = forms.CharField(max_length=200, required=False, help_text="The group the grant would go to.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False)
    team = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, help_text="'Name | role', one a line."
    )
    team_users = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.none(), required=False, label="Team members on this platform"
    )
    plan_action = forms.ModelChoiceField(
        queryset=PlanAction.objects.none(), required=False, label="Plan action this project delivers"
    )
    requested = forms.DecimalField(decimal_places=2, min_value=0, required=False, label="Amount requested (£)")
    budget_text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        label="Budget",
        help_text="One cost a line: 'Category | what for | amount'. The lines must add up to the amount requested.",
    )
    milestones_text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Milestones",
        help_text="One a line: 'Title | due date (2027-03-31) | payment'. Payments add up to the amount requested.",
    )

    def __init__(self, *args, proposal: Proposal, **kwargs):
        super().__init__(*args, **kwargs)
        community = proposal.call.community
        self.fields["team_users"].queryset = (
            get_user_model().objects.filter(memberships__community=community).distinct().order_by("last_name")
        )
        self.fields["team_users"].widget.attrs["size"] = 4
        self.fields["plan_action"].queryset = PlanAction.objects.filter(plan__community=community, done=False)
        for q in proposal.call.eligibility:
            self.fields[f"answer_{q['id']}"] = forms.ChoiceField(choices=YES_NO, required=False, label=q["text"])
        if proposal.stage == Proposal.Stage.CONCEPT:
            for name in ("budget_text", "milestones_text"):
                self.fields[name].required = False
                self.fields[name].help_text += " (Needed for the full proposal; optional at the concept stage.)"

    def answers(self) -> dict[str, bool]:
        out = {}
        for name, value in self.cleaned_data.items():
            if name.startswith("answer_") and value in ("yes", "no"):
                out[name.removeprefix("answer_")] = value == "yes"
        return out


def proposal_initial(p: Proposal) -> dict:
    data = {
        "title": p.title,
        "summary": p.summary,
        "organisation": p.organisation,
        "description": p.description,
        "team": p.team,
        "team_users": list(p.team_users.all()),
        "plan_action": p.plan_action_id,
        "requested": p.requested or None,
        "budget_text": p.budget_text,
        "milestones_text": p.milestones_text,
    }
    for k, v in p.answers.items():
        data[f"answer_{k}"] = "yes" if v else "no"
    return data


class AttachmentForm(forms.Form):
    file = forms.FileField(help_text="PDF, image, Word, Excel, CSV or text; up to 10 MB.")


class AssignForm(forms.Form):
    reviewer = forms.ModelChoiceField(queryset=get_user_model().objects.none())

    def __init__(self, *args, community: Community, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].queryset = (
            get_user_model()
            .objects.filter(memberships__community=community, memberships__role=Role.REVIEWER)
            .distinct()
        )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("decline", "Decline"), ("invite", "Invite a full proposal (concepts)")]
    )
    amount = forms.DecimalField(decimal_places=2, min_value=0, required=False, label="Award (£; blank = as requested)")
    reasons = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, help_text="For the record.")
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Message to the applicant"
    )


class ReviewForm(forms.Form):
    # not required in HTML: htmx would refuse to send the live preview until it is chosen; the service insists
    recommendation = forms.ChoiceField(choices=[("", "—"), *Review.Recommendation.choices], required=False)
    comment_panel = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Comments to the panel"
    )
    comment_applicant = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Comments to the applicant"
    )

    def __init__(self, *args, criteria, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        for c in self.criteria:
            self.fields[f"score_{c.pk}"] = forms.CharField(
                required=False,
                label=f"{c.name} (×{c.weight})",
                help_text=c.guidance or f"0 to {c.scale_max}",
                widget=forms.NumberInput(attrs={"min": 0, "max": c.scale_max, "step": 1, "inputmode": "numeric"}),
            )
        # the rubric first, then the recommendation and the comments
        self.order_fields([f"score_{c.pk}" for c in self.criteria])

    def scores(self) -> dict[str, str]:
        return {str(c.pk): (self.data.get(f"score_{c.pk}") or "").strip() for c in self.criteria}


class CampaignForm(forms.Form):
    title = forms.CharField(max_length=200)
    story = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}))
    target = forms.DecimalField(decimal_places=2, min_value=0, label="Target (£)")
    deadline = forms.DateTimeField(widget=forms.DateTimeInput(attrs=DT))
    mode = forms.ChoiceField(choices=Campaign.Mode.choices)
    fee_rate = forms.DecimalField(
        decimal_places=4, initial="0.04", label="Platform fee (rate)", help_text="Between 0.03 and 0.05 (3–5 %)."
    )
    proposal = forms.ModelChoiceField(queryset=Proposal.objects.none(), required=False, label="Project (optional)")
    match_fund = forms.ModelChoiceField(queryset=BenefitFund.objects.none(), required=False)
    match_ratio = forms.DecimalField(decimal_places=2, initial="1", label="£ matched per £1 pledged")
    match_cap = forms.DecimalField(decimal_places=2, initial="0", label="Match up to (£)")
    match_rule = forms.ChoiceField(choices=Campaign.MatchRule.choices)

    def __init__(self, *args, community: Community, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["match_fund"].queryset = BenefitFund.objects.filter(community=community)
        self.fields["proposal"].queryset = Proposal.objects.filter(call__community=community, applicant=user)


class PledgeForm(forms.Form):
    amount = forms.DecimalField(decimal_places=2, min_value=0, label="Pledge (£)")
    token = forms.CharField(widget=forms.HiddenInput)


def is_member(user, community) -> bool:
    return Membership.objects.filter(community=community, user=user, role=Role.MEMBER).exists()
