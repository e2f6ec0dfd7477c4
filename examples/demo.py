"""The tokenfed story, on loopback: a subscriber of alliance A consumes tokens in alliance B.

Eight partner nodes run, each its own ``tokenfed serve`` process on a free loopback port: the
anchors of alliances A and B; A's home operator and clearing house; B's cloud intermediate, the
token provider under it, a GPU provider that pins only its own anchor, and a provider the
intermediate registered under a name outside alliance B. Anchor A recognises anchor B (a
recognition statement with three constraints; B lists A among its superiors). Every entity id
is an https name; each node's loopback origin map (test mode) sends those names to local ports.

Then, step by step: the operator issues its subscriber an entitlement for the provider; the
provider meters requests under it and returns signed receipts naming the entitlement; the
operator's intake verifies them through the federation, under anchor A, and totals them in UTU
and CNY. The provider rotates its receipt key (old receipts still verify); a receipt signed with
a revoked key, usage beyond the entitlement's limit, recognition used in the wrong direction and
a provider outside the naming constraints are each shown and rejected with their codes. Every
outcome printed is what a node or a verifier answered in this run. The month-end settlement
follows. Every node is stopped at the end, also on an error, Ctrl-C or SIGTERM, and the demo
writes only into one temporary directory, removed at the end.

Run: make demo   (or: python examples/demo.py)
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from demo.client import Api, Reply, claims_of, kid_of, show
from demo.processes import NodeFailedError, Nodes, terminate_on_signals
from demo.settlement import month_end
from demo.world import (
    ADMIN_TOKEN,
    ANCHOR_A,
    ANCHOR_B,
    B_ONLY,
    CLEARING_A,
    OPERATOR_A,
    OUTSIDER,
    PROVIDER_B,
    World,
    build_world,
    receipt_jwks,
    write_provider_keys,
)
from tokenfed.errors import TokenfedError
from tokenfed.federation import EntityStatement, FederationTrust, Resolver, TrustAnchor
from tokenfed.receipts import ReceiptIssuer, ReceiptVerifier
from tokenfed.units import RateCard

SUBSCRIBER = "account-4711"
"""The subscriber's account at the home operator; the provider only ever sees a pairwise id."""

LIMIT = "200"
"""The entitlement's limit in UTU."""

REQUESTS: list[tuple[str, dict[str, Any]]] = [
    (
        "qwen-max",
        {
            "prompt_tokens": 4200,
            "completion_tokens": 900,
            "prompt_tokens_details": {"cached_tokens": 3000},
        },
    ),
    ("qwen-max", {"prompt_tokens": 40000, "completion_tokens": 1200}),
    (
        "claude-sonnet",
        {
            "input_tokens": 800,
            "cache_creation_input_tokens": 2000,
            "cache_read_input_tokens": 6000,
            "output_tokens": 650,
        },
    ),
]
"""Usage as the inference backends reported it: OpenAI-style and Anthropic-style."""

VENDORS = {"qwen-max": "openai", "claude-sonnet": "anthropic"}


class StepFailedError(RuntimeError):
    """A node answered a step of the story otherwise than the story needs to go on."""


def expect(reply: Reply, what: str) -> Any:
    """The body of a successful reply, or stop the story with the node's error."""
    if not reply.ok:
        raise StepFailedError(f"{what}: HTTP {reply.status} {reply.text[:500]}")
    return reply.body


@dataclass
class Story:
    """The state the story carries from step to step."""

    world: World
    nodes: Nodes
    http: httpx.Client
    entitlement: dict[str, Any] = field(default_factory=dict)
    receipts: list[str] = field(default_factory=list)
    metered: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0

    def show_step(self, title: str, *lines: str) -> None:
        """Print the next numbered step of the story."""
        self.steps += 1
        show(f"Step {self.steps}. {title}", *lines)

    def api(self, name: str, token: str | None = None) -> Api:
        return Api(self.http, self.nodes[name], token)

    def anchor(self, name: str) -> TrustAnchor:
        entity = self.world[name]
        return TrustAnchor.from_jwks(entity.entity_id, entity.federation_jwks())

    def resolver(self, anchor: str) -> Resolver:
        """A verifier's resolver pinned to one anchor, in loopback test mode."""
        return Resolver([self.anchor(anchor)], origin_map=self.world.origin_map)


def step_federation(story: Story) -> None:
    """Who is who, and anchor A's recognition of anchor B as the anchors serve it."""
    lines = []
    for entity in story.world.entities.values():
        superiors = ", ".join(entity.authority_hints) or "(trust anchor)"
        lines.append(
            f"{entity.entity_id:<40} {'/'.join(entity.roles):<14} "
            f"{story.nodes[entity.name].base_url:<22} superiors: {superiors}"
        )
    show("The federation: one tokenfed serve process per entity, on loopback", *lines)

    # Anchor A's statement about anchor B, as A's fetch endpoint serves it, verified with A's
    # pinned keys; and anchor B's own configuration, verified with B's pinned keys.
    reply = story.api("anchor-a").get("/federation/fetch", sub=ANCHOR_B)
    expect(reply, "anchor A's statement about anchor B")
    recognition = EntityStatement.decode(reply.text)
    recognition.verify_with(story.anchor("anchor-a").jwks)
    reply = story.api("anchor-b").get("/.well-known/openid-federation")
    expect(reply, "anchor B's entity configuration")
    configuration = EntityStatement.decode(reply.text)
    configuration.verify_with(story.anchor("anchor-b").jwks)
    show(
        "Anchor A recognises anchor B (statements as the anchors serve them, signatures checked)",
        f"A's statement about B: iss {recognition.iss}, sub {recognition.sub}, "
        f"tokenfed_recognition {json.dumps(recognition.claims.get('tokenfed_recognition'))}",
        f"  constraints {json.dumps(recognition.constraints)}",
        f"B's configuration: authority_hints {json.dumps(list(configuration.authority_hints))}",
    )


def step_entitlement(story: Story) -> None:
    """The operator's admin endpoint issues the subscriber an entitlement for the provider."""
    operator = story.api("operator-a", ADMIN_TOKEN)
    body = expect(
        operator.post(
            "/entitlements",
            {
                "subscriber": SUBSCRIBER,
                "provider": PROVIDER_B,
                "scope": ["qwen-max", "claude-sonnet"],
                "limit": LIMIT,
                "lifetime": 3600,
            },
        ),
        "the operator's entitlement endpoint",
    )
    story.entitlement = body
    claims = claims_of(body["entitlement"])
    story.show_step(
        "The operator issues its subscriber an entitlement for the provider",
        f"iss   {claims['iss']}",
        f"aud   {claims['aud']}",
        f"sub   {claims['sub']}  (pairwise for this provider; the account stays at home)",
        f"jti   {claims['jti']}",
        f"scope {', '.join(claims['scope'])}",
        f"limit {claims['limit']} UTU, valid {claims['exp'] - claims['iat']} s",
    )


def meter(story: Story, model: str, response: dict[str, Any], request_id: str) -> Reply:
    """Report one request's vendor usage to the provider's metering endpoint."""
    return story.api("provider-b").post(
        "/metering",
        {
            "entitlement": story.entitlement["entitlement"],
            "model": model,
            "vendor": VENDORS[model],
            "response": response,
            "request_id": request_id,
        },
    )


def step_metering(story: Story) -> None:
    """The provider's metering endpoint prices reported usage and signs receipts."""
    lines = []
    for number, (model, usage) in enumerate(REQUESTS, 1):
        body = expect(meter(story, model, usage, f"req-{number}"), "the provider's metering")
        claims = claims_of(body["receipt"])
        story.receipts.append(body["receipt"])
        story.metered.append(body)
        lines.append(
            f"receipt seq {claims['seq']} jti {claims['jti']}: {model} {body['amount']} UTU, "
            f"entitlement {claims['entitlement']}, consumed {body['consumed']}, "
            f"remaining {body['remaining']}"
        )
    story.show_step(
        "The provider meters three requests under the entitlement, signs a receipt each",
        *lines,
    )


def intake(story: Story, receipts: list[str]) -> list[dict[str, Any]]:
    """Deliver receipts to the operator's intake; its result per receipt."""
    body = expect(story.api("operator-a").post("/receipts", receipts), "the operator's intake")
    results: list[dict[str, Any]] = body["results"]
    return results


def describe(result: dict[str, Any]) -> str:
    """One intake result as a line: accepted with anchor and path, or the refusal's code."""
    if result["status"] == "rejected":
        error = result["error"]
        return f"#{result['index']} rejected: {error['error']} ({error['message']})"
    via = ""
    if "trust_anchor" in result:
        via = f", under {result['trust_anchor']} via {' -> '.join(result['trust_path'])}"
    return f"#{result['index']} {result['status']}: jti {result.get('jti')}{via}"


def totals(story: Story) -> str:
    """The operator's totals for the provider, and whether they are the sum of what the
    provider metered and the intake accepted."""
    body = expect(
        story.api("operator-a", ADMIN_TOKEN).get("/totals", provider=PROVIDER_B),
        "the operator's totals",
    )
    accepted = sum((Decimal(m["amount"]) for m in story.metered[: body["count"]]), Decimal(0))
    check = "the sum of those receipts" if Decimal(body["amount_utu"]) == accepted else "MISMATCH"
    return (
        f"operator's totals for {body['provider']}: {body['count']} receipts, "
        f"{body['amount_utu']} UTU ({check}) = {body.get('amount_cny')} CNY "
        f"(rates {body.get('rates_id')} of {CLEARING_A})"
    )


def step_intake(story: Story) -> None:
    """The operator's intake verifies receipts through the federation; its totals."""
    # The last receipt is delivered late, after the key rotation below.
    results = intake(story, story.receipts[:-1])
    story.show_step(
        "The operator's intake verifies the receipts through the federation",
        *[describe(result) for result in results],
        totals(story),
    )


def step_rotation(story: Story) -> None:
    """The provider switches to its next receipt key; old and new receipts verify."""
    world = story.world
    _, old, new = world.receipt_keys
    rotation = int(time.time()) + 1  # every receipt so far was signed before this second
    write_provider_keys(
        world["provider-b"], new, receipt_jwks(world, world.built_at, rotation=rotation)
    )
    story.nodes.restart("provider-b")
    model, usage = REQUESTS[0]
    body = expect(meter(story, model, usage, "req-4"), "the provider's metering after rotation")
    story.receipts.append(body["receipt"])
    story.metered.append(body)
    late, fresh = story.receipts[-2], story.receipts[-1]
    results = intake(story, [late, fresh])
    # A verifier that resolves the provider now sees the old key's exp: the receipts the old
    # key signed before it still verify (REC-031, REC-032).
    with story.resolver("anchor-a") as resolver:
        trust = FederationTrust(resolver)
        card = RateCard.from_jws(story.api("provider-b").get("/rate-card").text, trust)
        verifier = ReceiptVerifier(trust, [card])
        again = [verifier.verify(receipt) for receipt in story.receipts[:3]]
    story.show_step(
        "The provider rotates its receipt key; receipts of the old key still verify",
        f"old key {old.kid}: exp {rotation} (the provider's node restarted to sign with the next)",
        f"new key {new.kid}: published ahead, signs from now on",
        f"late receipt, signed by {kid_of(late)}: {describe(results[0])}",
        f"new receipt, signed by {kid_of(fresh)}: {describe(results[1])}",
        "a verifier resolving the provider afresh (old key now with exp) checks the old receipts:",
        *[
            f"  jti {v.jti} iat {v.raw['iat']} kid {v.kid}: verified under "
            f"{v.origin.trust_anchor if v.origin else None}"
            for v in again
        ],
        totals(story),
    )


def step_revoked(story: Story) -> None:
    """A receipt signed now with the provider's leaked, revoked key."""
    leaked = story.world.receipt_keys[0]
    provider = story.world["provider-b"]
    card_token = story.api("provider-b").get("/rate-card").text
    card = RateCard.from_jws(card_token, story.world.receipt_keys[-1].public_key())
    claims = claims_of(story.receipts[0])
    forged = ReceiptIssuer(leaked, provider.entity_id, card).issue(
        aud=OPERATOR_A,
        sub=claims["sub"],
        usage=claims["usage"],
        entitlement=claims["entitlement"],
    )
    (result,) = intake(story, [forged])
    story.show_step(
        "A receipt signed with the provider's revoked key",
        f"key {leaked.kid} leaked and was revoked a week ago (reason compromised);",
        f"whoever holds it signs a receipt for {OPERATOR_A} now, and the intake answers:",
        f"  {describe(result)}",
    )


def step_limit(story: Story) -> None:
    """A request worth more than what is left of the entitlement."""
    before = story.metered[-1]
    reply = meter(story, "qwen-max", {"prompt_tokens": 10000, "completion_tokens": 10000}, "req-9")
    detail = (reply.body or {}).get("detail", {})
    story.show_step(
        "Usage beyond the entitlement's limit",
        f"{before['remaining']} UTU of the {LIMIT} UTU limit are left; a request worth "
        f"{detail.get('requested')} UTU:",
        f"  HTTP {reply.status} {reply.code} ({(reply.body or {}).get('message')})",
    )


def resolve(resolver: Resolver, entity_id: str, entity_type: str) -> list[str]:
    """What a verifier's resolver makes of an entity: the anchor and path, or the error."""
    try:
        resolution = resolver.resolve(entity_id, entity_type)
    except TokenfedError as error:
        reasons = [
            f"  dropped path {' -> '.join(reason['path'])}: {reason['error']}"
            for reason in (error.detail or {}).get("reasons", [])
        ]
        return [f"rejected: {error.code} ({error.message})", *reasons]
    return [
        f"resolved under {resolution.trust_anchor}: {' -> '.join(resolution.path)}",
    ]


def step_provider_chain(story: Story) -> None:
    """The chain from the provider to anchor A, through the recognition."""
    with story.resolver("anchor-a") as resolver:
        lines = resolve(resolver, PROVIDER_B, "tokenfed_provider")
    show("The operator's verifier, anchored at A, resolves the provider", *lines)


def step_wrong_direction(story: Story) -> None:
    """Verifiers anchored only at B face alliance A's operator."""
    reply = story.api("anchor-b").get("/federation/fetch", sub=ANCHOR_A)
    with story.resolver("anchor-b") as resolver:
        lines = resolve(resolver, OPERATOR_A, "tokenfed_operator")
    # A provider of B that pins only its own anchor is such a verifier: it cannot check the
    # operator's entitlement.
    entitlement = expect(
        story.api("operator-a", ADMIN_TOKEN).post(
            "/entitlements",
            {"subscriber": SUBSCRIBER, "provider": B_ONLY, "scope": ["qwen-max"], "limit": "50"},
        ),
        "the operator's entitlement for the GPU provider",
    )
    model, usage = REQUESTS[0]
    refused = story.api("gpu-b").post(
        "/metering",
        {
            "entitlement": entitlement["entitlement"],
            "model": model,
            "vendor": VENDORS[model],
            "response": usage,
            "request_id": "req-g1",
        },
    )
    story.show_step(
        "Recognition used in the wrong direction: verifiers anchored at B only, facing the "
        "operator of A",
        "a verifier anchored at B resolves the operator:",
        *[f"  {line}" for line in lines],
        f"  anchor B serves no statement about anchor A (HTTP {reply.status} {reply.code}): "
        "A's recognition of B is one-way",
        f"{B_ONLY} pins only anchor B; it is handed an entitlement of {OPERATOR_A}:",
        f"  HTTP {refused.status} {refused.code}",
    )


def step_naming(story: Story) -> None:
    """A provider whose name is outside what anchor A accepts of alliance B."""
    with story.resolver("anchor-a") as resolver:
        under_a = resolve(resolver, OUTSIDER, "tokenfed_provider")
    with story.resolver("anchor-b") as resolver:
        under_b = resolve(resolver, OUTSIDER, "tokenfed_provider")
    # The operator issues an entitlement for that provider too; the provider (which pins
    # anchors A and B) meters a request under it; the operator's intake refuses the receipt.
    entitlement = expect(
        story.api("operator-a", ADMIN_TOKEN).post(
            "/entitlements",
            {"subscriber": SUBSCRIBER, "provider": OUTSIDER, "scope": ["qwen-max"], "limit": "50"},
        ),
        "the operator's entitlement for the outside provider",
    )
    model, usage = REQUESTS[0]
    metered = expect(
        story.api("outsider").post(
            "/metering",
            {
                "entitlement": entitlement["entitlement"],
                "model": model,
                "vendor": VENDORS[model],
                "response": usage,
                "request_id": "req-x1",
            },
        ),
        "the outside provider's metering",
    )
    (result,) = intake(story, [metered["receipt"]])
    story.show_step(
        f"A provider outside the naming constraints of A's recognition of B: {OUTSIDER}",
        "a verifier anchored at A:",
        *[f"  {line}" for line in under_a],
        "a verifier anchored at B (which set no such constraint):",
        *[f"  {line}" for line in under_b],
        f"it meters a request under an entitlement of {OPERATOR_A} ({metered['amount']} UTU);",
        f"the operator's intake answers: {describe(result)}",
    )


@contextlib.contextmanager
def running_federation(folder: Path, attempts: int = 3) -> Iterator[tuple[World, Nodes]]:
    """Build the federation below ``folder`` and run its nodes until the block ends. If a port
    found free was taken by another process before its node bound it, build the federation
    again on new ports."""
    for attempt in range(1, attempts + 1):
        world = build_world(folder / f"federation-{attempt}")
        try:
            nodes = Nodes(world.nodes()).start()
        except NodeFailedError as error:
            if error.port_taken and attempt < attempts:
                continue
            raise
        with nodes:
            yield world, nodes
        return


def federation_story(folder: Path) -> None:
    """Build the federation in ``folder``, run its nodes, tell the story, stop the nodes."""
    with running_federation(folder) as (world, nodes), httpx.Client(timeout=10.0) as http:
        story = Story(world, nodes, http)
        step_federation(story)
        step_provider_chain(story)
        step_entitlement(story)
        step_metering(story)
        step_intake(story)
        step_rotation(story)
        step_revoked(story)
        step_limit(story)
        step_wrong_direction(story)
        step_naming(story)
    show("Every node stopped")


def main() -> int:
    started = time.monotonic()
    try:
        with terminate_on_signals(), tempfile.TemporaryDirectory(prefix="tokenfed-demo-") as tmp:
            folder = Path(tmp)
            federation_story(folder)
            (folder / "month").mkdir()
            month_end(folder / "month")
    except KeyboardInterrupt:
        print("\ninterrupted: every node was stopped", file=sys.stderr)
        return 130
    except (NodeFailedError, StepFailedError, httpx.HTTPError) as error:
        print(f"\nthe demo stopped: {error}", file=sys.stderr)
        return 1
    except TokenfedError as error:  # a document a node served did not verify
        print(f"\nthe demo stopped: {error.code}: {error.message}", file=sys.stderr)
        return 1
    print(f"\n== Done in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
