"""The generic resource repository: identity, errors, regions, updates, listing, tags, links."""

from __future__ import annotations

import datetime as dt

import pytest

from kamado.errors import ConflictError, ResourceInUse, ResourceNotFound, ValidationError
from kamado.services.base import RequestContext
from tests.conftest_store import ctx, db, db_url, resources, west  # noqa: F401

UTC = dt.timezone.utc


def arn(ctx, name: str) -> str:
    return ctx.arn("sagemaker", f"experiment/{name.lower()}")


def make(resources, ctx, name: str, data=None, **kw):
    return resources.create(ctx, "Experiment", name, arn(ctx, name), data or {}, **kw)


def names(items) -> list[str]:
    return [r.name for r in items]


# --- identity and errors -------------------------------------------------------------------

def test_create_get_and_get_by_arn(resources, ctx):
    made = make(resources, ctx, "Exp-1", {"Description": "d"}, status="Active")
    got = resources.get(ctx, "Experiment", "Exp-1")
    assert (got.name, got.arn, got.status, got.data) == ("Exp-1", arn(ctx, "Exp-1"), "Active",
                                                         {"Description": "d"})
    assert got.id == made.id
    assert got.creation_time == got.last_modified_time == made.creation_time
    assert got.creation_time.tzinfo == UTC
    assert resources.get_by_arn(ctx, arn(ctx, "Exp-1")).name == "Exp-1"
    assert resources.get_by_arn(ctx, arn(ctx, "Exp-1"), type="Trial", missing_ok=True) is None


def test_names_are_case_insensitive_unless_the_family_says_otherwise(resources, ctx):
    make(resources, ctx, "MixedCase")
    assert resources.get(ctx, "Experiment", "mixedcase").name == "MixedCase"
    with pytest.raises(ValidationError) as e:
        resources.create(ctx, "Experiment", "MIXEDCASE", "arn:other", {})
    assert "already exists" in e.value.message

    resources.register("Bucket", case_sensitive=True)
    resources.create(ctx, "Bucket", "b", "arn:b", {})
    resources.create(ctx, "Bucket", "B", "arn:B", {})
    assert resources.get(ctx, "Bucket", "B").arn == "arn:B"


def test_default_errors_and_family_hooks(resources, ctx):
    make(resources, ctx, "e")
    with pytest.raises(ValidationError) as e:
        make(resources, ctx, "e")
    assert (e.value.code, e.value.message) == ("ValidationException",
                                               "Experiment with name (e) already exists.")
    with pytest.raises(ResourceNotFound) as e:
        resources.get(ctx, "Experiment", "nope")
    assert e.value.code == "ResourceNotFound"
    assert resources.get(ctx, "Experiment", "nope", missing_ok=True) is None

    resources.register("TrainingJob", label="Training job",
                       on_duplicate=lambda name, arn: ResourceInUse(f"Training job {name} is taken"),
                       on_missing=lambda name, arn: ValidationError(f"Requested resource not found: {name}"))
    resources.create(ctx, "TrainingJob", "job", "arn:job", {})
    with pytest.raises(ResourceInUse) as e:
        resources.create(ctx, "TrainingJob", "job", "arn:job2", {})
    assert e.value.code == "ResourceInUse"
    with pytest.raises(ValidationError) as e:
        resources.get(ctx, "TrainingJob", "other")
    assert e.value.message == "Requested resource not found: other"
    # A per-call hook beats the family's.
    with pytest.raises(ConflictError):
        resources.get(ctx, "TrainingJob", "other", on_missing=lambda n, a: ConflictError("x"))


def test_resources_belong_to_their_region_and_account(resources, ctx, west):
    make(resources, ctx, "regional")
    assert resources.get(west, "Experiment", "regional", missing_ok=True) is None
    assert resources.get_by_arn(west, arn(ctx, "regional"), missing_ok=True) is None
    assert resources.list(west, "Experiment")[0] == []
    make(resources, west, "regional")  # the same name is free in another region
    other_account = RequestContext(account_id="111111111111", region="us-east-1")
    assert resources.get(other_account, "Experiment", "regional", missing_ok=True) is None
    assert names(resources.list(ctx, "Experiment")[0]) == ["regional"]


# --- update and delete ---------------------------------------------------------------------

def test_update_merges_removes_and_stamps(resources, ctx):
    made = make(resources, ctx, "u", {"a": 1, "b": 2}, status="InProgress")
    updated = resources.update(ctx, "Experiment", "U", {"a": None, "c": 3}, status="Completed")
    assert updated.data == {"b": 2, "c": 3}
    assert updated.status == "Completed"
    got = resources.get(ctx, "Experiment", "u")
    assert (got.data, got.status) == ({"b": 2, "c": 3}, "Completed")
    assert got.last_modified_time > made.last_modified_time
    assert got.creation_time == made.creation_time

    resources.update(ctx, "Experiment", "u", lambda d: {**d, "b": d["b"] * 10})
    assert resources.get(ctx, "Experiment", "u").data == {"b": 20, "c": 3}
    with pytest.raises(ResourceNotFound):
        resources.update(ctx, "Experiment", "missing", {"a": 1})


def test_update_with_expected_status_is_a_compare_and_set(resources, ctx):
    make(resources, ctx, "job", status="InProgress")
    resources.update(ctx, "Experiment", "job", status="Stopping", expect_status="InProgress")
    with pytest.raises(ConflictError):
        resources.update(ctx, "Experiment", "job", status="Completed",
                         expect_status=["InProgress", "Pending"])
    assert resources.get(ctx, "Experiment", "job").status == "Stopping"


def test_delete_takes_tags_and_links_along(resources, ctx):
    a, b = make(resources, ctx, "a", tags=[{"Key": "k", "Value": "v"}]), make(resources, ctx, "b")
    resources.associate("Link", a.arn, b.arn)
    resources.associate("Link", b.arn, a.arn)
    gone = resources.delete(ctx, "Experiment", "A")
    assert gone.arn == a.arn
    assert resources.get(ctx, "Experiment", "a", missing_ok=True) is None
    assert resources.list_tags(a.arn)[0] == []
    assert resources.links("Link") == []
    with pytest.raises(ResourceNotFound):
        resources.delete(ctx, "Experiment", "a")


# --- listing -------------------------------------------------------------------------------

@pytest.fixture
def five(resources, ctx):
    base = dt.datetime(2026, 1, 1, tzinfo=UTC)
    order = ["c", "a", "e", "b", "d"]  # creation order differs from name order
    for i, name in enumerate(order):
        make(resources, ctx, name, {"i": i, "odd": i % 2 == 1, "Source": {"SourceArn": f"src-{i % 2}"}},
             status="Odd" if i % 2 else "Even", creation_time=base + dt.timedelta(hours=i))
    return order


def all_pages(resources, ctx, **kw):
    seen, token, pages = [], None, 0
    while True:
        items, token = resources.list(ctx, "Experiment", next_token=token, **kw)
        seen += names(items)
        pages += 1
        if token is None:
            return seen, pages


def test_list_sorts_and_pages(resources, ctx, five):
    assert names(resources.list(ctx, "Experiment")[0]) == list(reversed(five))  # newest first
    assert all_pages(resources, ctx, sort_by="Name", sort_order="Ascending", max_results=2) == (
        ["a", "b", "c", "d", "e"], 3)
    assert all_pages(resources, ctx, sort_by="Name", sort_order="Descending", max_results=2)[0] == [
        "e", "d", "c", "b", "a"]
    assert all_pages(resources, ctx, sort_by="CreationTime", sort_order="Ascending",
                     max_results=3)[0] == five
    assert all_pages(resources, ctx, sort_by="Status", sort_order="Ascending", max_results=1)[0] == [
        "c", "e", "d", "a", "b"]
    items, token = resources.list(ctx, "Experiment", max_results=5)
    assert len(items) == 5 and token is None


def test_paging_keeps_its_place_when_resources_are_added(resources, ctx, five):
    first, token = resources.list(ctx, "Experiment", sort_by="Name", sort_order="Ascending",
                                  max_results=2)
    make(resources, ctx, "aa")  # sorts before the place the token remembers
    make(resources, ctx, "zz")
    rest, token = resources.list(ctx, "Experiment", sort_by="Name", sort_order="Ascending",
                                 next_token=token)
    assert names(first) + names(rest) == ["a", "b", "c", "d", "e", "zz"]


def test_bad_tokens_are_validation_errors(resources, ctx, five):
    _, token = resources.list(ctx, "Experiment", sort_by="Name", max_results=1)
    for bad in ["not-a-token", "e30", token[:-3], "!!!"]:
        with pytest.raises(ValidationError):
            resources.list(ctx, "Experiment", sort_by="Name", next_token=bad)
    with pytest.raises(ValidationError):  # a token of another listing
        resources.list(ctx, "Trial", sort_by="Name", next_token=token)
    with pytest.raises(ValidationError):
        resources.list(ctx, "Experiment", sort_by="CreationTime", next_token=token)
    with pytest.raises(ValidationError):
        resources.list(ctx, "Experiment", sort_by="Colour")


def test_list_filters(resources, ctx, five):
    base = dt.datetime(2026, 1, 1, tzinfo=UTC)
    listed = lambda **kw: sorted(names(resources.list(ctx, "Experiment", **kw)[0]))  # noqa: E731
    assert listed(created_after=base + dt.timedelta(hours=2)) == ["b", "d"]  # strictly after
    assert listed(created_before=base + dt.timedelta(hours=1)) == ["c"]
    assert listed(status_equals="Odd") == ["a", "b"]
    assert listed(status_equals=["Odd", "Even"]) == ["a", "b", "c", "d", "e"]
    assert listed(where={"i": 2}) == ["e"]
    assert listed(where={"odd": True}) == ["a", "b"]
    assert listed(where={"Source.SourceArn": "src-0"}) == ["c", "d", "e"]
    assert listed(where={("Source", "SourceArn"): "src-1", "i": 3}) == ["b"]
    assert listed(where=lambda r: r.data["i"] >= 3) == ["b", "d"]
    assert listed(arns=[[arn(ctx, "a"), arn(ctx, "b"), "arn:unknown"]]) == ["a", "b"]
    assert listed(arns=[[arn(ctx, "a"), arn(ctx, "b")], [arn(ctx, "b")]]) == ["b"]


def test_name_contains_is_case_insensitive_and_literal(resources, ctx):
    for name in ["Alpha-1", "beta-ALPHA", "gamma", "50pct", "x_y"]:
        make(resources, ctx, name)
    listed = lambda text: sorted(names(resources.list(ctx, "Experiment", name_contains=text)[0]))  # noqa: E731
    assert listed("alpha") == ["Alpha-1", "beta-ALPHA"]
    assert listed("%") == []
    assert listed("_") == ["x_y"]


def test_python_predicates_page_correctly(resources, ctx):
    for i in range(25):
        make(resources, ctx, f"n{i:02d}", {"i": i})
    seen, pages = all_pages(resources, ctx, sort_by="Name", sort_order="Ascending",
                            max_results=4, where=lambda r: r.data["i"] % 3 == 0)
    assert seen == [f"n{i:02d}" for i in range(0, 25, 3)]
    assert pages == 3


# --- tags ----------------------------------------------------------------------------------

def test_tags_add_overwrite_page_and_delete(resources, ctx):
    res = make(resources, ctx, "tagged", tags=[{"Key": "team", "Value": "ml"}])
    resources.add_tags(res.arn, [{"Key": f"k{i}", "Value": str(i)} for i in range(6)])
    resources.add_tags(res.arn, {"team": "platform"})
    tags, token = resources.list_tags(res.arn, max_results=4)
    assert [t["Key"] for t in tags] == ["team", "k0", "k1", "k2"]
    assert tags[0] == {"Key": "team", "Value": "platform"}
    rest, token2 = resources.list_tags(res.arn, max_results=4, next_token=token)
    assert [t["Key"] for t in rest] == ["k3", "k4", "k5"] and token2 is None
    resources.delete_tags(res.arn, ["k0", "k5", "never"])
    assert set(resources.tags_of(res.arn)) == {"team", "k1", "k2", "k3", "k4"}
    with pytest.raises(ValidationError):
        resources.list_tags(res.arn, next_token="garbage")


def test_tag_value_may_be_empty(resources, ctx):
    res = make(resources, ctx, "t", tags=[{"Key": "flag"}])
    assert resources.list_tags(res.arn)[0] == [{"Key": "flag", "Value": ""}]


# --- associations --------------------------------------------------------------------------

def test_associations_link_follow_and_unlink(resources, ctx):
    exp, t1, t2, tc = (make(resources, ctx, n) for n in ("exp", "t1", "t2", "tc"))
    assert resources.associate("ExperimentTrial", exp.arn, t1.arn) is True
    assert resources.associate("ExperimentTrial", exp.arn, t1.arn) is False  # already there
    resources.associate("ExperimentTrial", exp.arn, t2.arn)
    resources.associate("TrialComponent", t2.arn, tc.arn, data={"why": "test"})

    trials = resources.linked("ExperimentTrial", source=exp.arn)
    assert sorted(names(resources.list(ctx, "Experiment", arns=[trials])[0])) == ["t1", "t2"]
    components = resources.linked("TrialComponent", source=trials)
    assert names(resources.list(ctx, "Experiment", arns=[components])[0]) == ["tc"]
    parents = resources.linked("TrialComponent", destination=tc.arn)
    assert names(resources.list(ctx, "Experiment", arns=[parents])[0]) == ["t2"]

    assert resources.has_links("TrialComponent", source=t2.arn)
    assert not resources.has_links("TrialComponent", source=t1.arn)
    [link] = resources.links("TrialComponent")
    assert (link.source_arn, link.destination_arn, link.data) == (t2.arn, tc.arn, {"why": "test"})
    assert resources.disassociate("TrialComponent", t2.arn, tc.arn) is True
    assert resources.disassociate("TrialComponent", t2.arn, tc.arn) is False
    assert not resources.has_links("TrialComponent", destination=tc.arn)
    with pytest.raises(TypeError):
        resources.linked("TrialComponent")
