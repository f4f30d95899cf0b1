"""REST API of the planner (under /api/v1/communities/<slug>/plans/...)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from community.access import access_community
from community.models import Role
from planning import selectors, services
from planning.models import Plan, PlanVersion, Preference, Scenario, ScenarioOption

CONVENOR = [Role.CONVENOR]


class PlanSerializer(serializers.ModelSerializer):
    buildings = serializers.IntegerField(source="n_buildings", read_only=True)
    scenarios = serializers.IntegerField(source="n_scenarios", read_only=True)

    class Meta:
        model = Plan
        fields = [
            "id",
            "title",
            "area_description",
            "target_statement",
            "agreed_scenario",
            "assumptions",
            "buildings",
            "scenarios",
            "created_at",
        ]
        read_only_fields = ["id", "target_statement", "agreed_scenario", "assumptions", "created_at"]


class OptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScenarioOption
        fields = ["id", "key", "kind", "label", "params", "take_up"]


class ScenarioSerializer(serializers.ModelSerializer):
    options = OptionSerializer(many=True, read_only=True)

    class Meta:
        model = Scenario
        fields = [
            "id",
            "name",
            "description",
            "start_year",
            "end_year",
            "status",
            "progress",
            "progress_message",
            "error",
            "computed_at",
            "options",
        ]
        read_only_fields = ["id", "status", "progress", "progress_message", "error", "computed_at", "options"]


class ScenarioResultSerializer(ScenarioSerializer):
    class Meta(ScenarioSerializer.Meta):
        fields = ScenarioSerializer.Meta.fields + ["result"]


class OptionInputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField(required=False, allow_blank=True, default="")
    key = serializers.CharField(required=False, allow_blank=True, default="")
    take_up = serializers.DictField(child=serializers.FloatField(), help_text='{"2026": 10, "2030": 40} percent')
    params = serializers.DictField(required=False, default=dict)


class PreferenceInputSerializer(serializers.Serializer):
    option_kind = serializers.CharField()
    criterion = serializers.CharField(default="overall")
    score = serializers.IntegerField()


class VersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlanVersion
        fields = ["id", "number", "title", "published_at", "pdf_sha256"]


def _plan(request, slug, plan_id, roles=None) -> Plan:
    community = access_community(request.user, slug, roles)
    return selectors.plan_for(community, plan_id)


class PlanList(generics.ListCreateAPIView):
    serializer_class = PlanSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.plans_for(access_community(self.request.user, self.kwargs["slug"]))

    def post(self, request, slug):
        community = access_community(request.user, slug, CONVENOR)
        data = PlanSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = services.plan_create(
            community=community,
            title=data.validated_data["title"],
            area_description=data.validated_data.get("area_description", ""),
            actor=request.user,
        )
        services.plan_sync_sites(plan=plan, actor=request.user)
        plan = selectors.plans_for(community).get(pk=plan.pk)
        return Response(PlanSerializer(plan).data, status=status.HTTP_201_CREATED)


class ScenarioList(generics.ListCreateAPIView):
    serializer_class = ScenarioSerializer
    pagination_class = None

    def get_queryset(self):
        return _plan(self.request, self.kwargs["slug"], self.kwargs["plan_id"]).scenarios.prefetch_related("options")

    def post(self, request, slug, plan_id):
        plan = _plan(request, slug, plan_id, CONVENOR)
        data = ScenarioSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        s = services.scenario_create(plan=plan, actor=request.user, **data.validated_data)
        return Response(ScenarioSerializer(s).data, status=status.HTTP_201_CREATED)


class ScenarioDetail(generics.RetrieveAPIView):
    serializer_class = ScenarioResultSerializer

    def get_object(self):
        plan = _plan(self.request, self.kwargs["slug"], self.kwargs["plan_id"])
        return selectors.scenario_for(plan, self.kwargs["scenario_id"])


class ScenarioOptionSave(APIView):
    @extend_schema(request=OptionInputSerializer, responses=OptionSerializer)
    def post(self, request, slug, plan_id, scenario_id):
        plan = _plan(request, slug, plan_id, CONVENOR)
        scenario = selectors.scenario_for(plan, scenario_id)
        data = OptionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        try:
            take_up = {int(y): float(p) for y, p in d["take_up"].items()}
        except ValueError:
            return Response({"detail": "take_up keys must be years.", "field": "take_up"}, status=400)
        option = services.scenario_option_save(
            scenario=scenario,
            kind=d["kind"],
            label=d["label"],
            key=d["key"] or None,
            take_up=take_up,
            params=d["params"],
            actor=request.user,
        )
        return Response(OptionSerializer(option).data, status=status.HTTP_201_CREATED)


class ScenarioCompute(APIView):
    @extend_schema(request=None, responses=ScenarioSerializer)
    def post(self, request, slug, plan_id, scenario_id):
        plan = _plan(request, slug, plan_id, CONVENOR)
        scenario = services.scenario_request_compute(
            scenario=selectors.scenario_for(plan, scenario_id), actor=request.user
        )
        return Response(ScenarioSerializer(scenario).data, status=status.HTTP_202_ACCEPTED)


class PreferenceRecord(APIView):
    @extend_schema(request=PreferenceInputSerializer, responses=None)
    def post(self, request, slug, plan_id):
        plan = _plan(request, slug, plan_id)
        data = PreferenceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        p = services.preference_record(
            plan=plan, user=request.user, actor=request.user, source=Preference.Source.ONLINE, **data.validated_data
        )
        return Response({"id": p.pk, "score": p.score}, status=status.HTTP_201_CREATED)


class VersionList(generics.ListAPIView):
    serializer_class = VersionSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.versions(_plan(self.request, self.kwargs["slug"], self.kwargs["plan_id"]))


class ImportInputSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="CSV with a header row")
    dry_run = serializers.BooleanField(default=True)


class BuildingsImport(APIView):
    """Check (dry_run) or save a buildings CSV; bad rows come back by line number."""

    @extend_schema(request=ImportInputSerializer, responses=None)
    def post(self, request, slug, plan_id):
        plan = _plan(request, slug, plan_id, CONVENOR)
        data = ImportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        out = services.plan_buildings_import(
            plan=plan, text=data.validated_data["text"], dry_run=data.validated_data["dry_run"], actor=request.user
        )
        body = {
            "rows": len(out.rows),
            "saved": out.saved,
            "dry_run": out.dry_run,
            "errors": [{"line": e.line, "message": e.message} for e in out.errors],
        }
        if out.errors:
            body["detail"] = f"{len(out.errors)} row(s) have problems; nothing was saved."
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(body, status=status.HTTP_201_CREATED if out.saved else status.HTTP_200_OK)


class CurrentState(APIView):
    """Annual demand and generation by fuel and end use (Wh), carbon (kg), headroom."""

    @extend_schema(responses=None)
    def get(self, request, slug, plan_id):
        from dataclasses import asdict

        plan = _plan(request, slug, plan_id)
        cs = selectors.plan_current_state(plan)
        return Response({"current_state": asdict(cs) if cs else None})
