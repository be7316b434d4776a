"""grounding: unrequested fields, default-filled fields and ungrounded numbers in text-to-JSON data.

    python -m benchmarks.grounding [--n N] [--split dev|heldout|all]

The `structured_output` check asks, per field of a JSON response, whether the request asked for
it (its key is mentioned, or its value is in the request); numbers, booleans and short codes in
fields that are neither are "unrequested" (`unrequested_field`, and `default_filled_field` when
they are one constant). Unfound numbers of requested fields are `ungrounded_values`.

Project-authored text-to-JSON datasets of six domains, each with planted defects: an
unrequested numeric, boolean or short-code field filled with a default (in ~8% of records), an
ungrounded number (a requested number changed to one the request does not hold, ~3%), and
otherwise clean records in which every field is requested (fields the request asks for or
whose value it holds, plus the derived and generated fields such data normally has: totals,
dates, a summary, classifications). Each domain also has a clean variant (no planted defect)
for the false-positive rate.

DEVELOPMENT domains (the check's rules and defaults were tuned on them): calendar requests,
product orders, support-ticket triage. HELD-OUT domains (written in this module before any
tuning, with other templates, key styles and formats, and not looked at while tuning): flight
searches, recipes, sales-lead contacts. Also measured: sample_data/resumes_chat.jsonl (its
manifest's planted-defect precision/recall, and what the new findings flag there) and the JSON
outputs of ../shared/datasets/code_alpaca (read at run time, hand-reviewed below).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import REPO_ROOT, markdown_table, shared_datasets_dir, write_results
from benchmarks.structured_output import _run

SEED = 20261130
N_PER_DOMAIN = 1500
DEFAULT_RATE = 0.08  # records with a planted unrequested default
UNGROUNDED_RATE = 0.03  # records with a planted ungrounded number
#: finding codes of the request test, and ungrounded numbers (value_kind not "string")
NEW_CODES = ("unrequested_field", "default_filled_field")
DEFAULT = "unrequested_default"
UNGROUNDED = "ungrounded_number"


@dataclass(frozen=True)
class Example:
    record: dict[str, Any]
    kind: str | None  # DEFAULT, UNGROUNDED or None (clean)
    field: str = ""  # the planted field


Generator = Callable[[random.Random, int, bool], Example]

NAMES = ("Maya Patel", "Jonas Berg", "Aisha Bello", "Tom Reyes", "Lena Kovac", "Omar Haddad",
         "Grace Kim", "Diego Alvarez", "Sofia Rossi", "Kwame Mensah", "Hana Sato", "Piotr Nowak")
FIRST = tuple(n.split()[0] for n in NAMES)


def _chat(system: str, user: str, answer: dict[str, Any]) -> dict[str, Any]:
    return {"messages": [{"role": "system", "content": system}, {"role": "user", "content": user},
                         {"role": "assistant", "content": json.dumps(answer)}]}


def _alpaca(instruction: str, text: str, answer: dict[str, Any]) -> dict[str, Any]:
    return {"instruction": instruction, "input": text, "output": json.dumps(answer)}


def _plan(rng: random.Random, defects: bool) -> str | None:
    if not defects:
        return None
    u = rng.random()
    if u < DEFAULT_RATE:
        return DEFAULT
    if u < DEFAULT_RATE + UNGROUNDED_RATE:
        return UNGROUNDED
    return None


def _other(rng: random.Random, value: int, low: int, high: int, text: str) -> int:
    """A number in [low, high] other than `value` that does not occur in `text`."""
    for _ in range(100):
        candidate = rng.randint(low, high)
        if candidate != value and str(candidate) not in text:
            return candidate
    return high * 7 + 3


# == DEVELOPMENT domains =======================================================================

# -- calendar requests (chat; the system prompt lists the core fields) -------------------------
CAL_SYSTEM = ("You turn scheduling requests into a JSON event. Always give title, date, "
              "start_time, duration_minutes and attendees; add any other field only when the "
              "request asks for it.")
CAL_TITLES = ("design review", "1:1", "budget sync", "dentist appointment", "team lunch",
              "interview", "sprint planning", "call with the landlord", "piano lesson")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
CAL_ROOMS = ("Room 4B", "the Atlas room", "Cafe Lumen", "Zoom", "the 3rd floor kitchen")
CAL_TZ = ("CET", "PST", "EST", "GMT")


def _time12(rng: random.Random) -> tuple[str, str]:
    hour = rng.randint(8, 17)
    minute = rng.choice((0, 0, 15, 30, 45))
    shown = f"{(hour - 1) % 12 + 1}{f':{minute:02d}' if minute else ''}{'am' if hour < 12 else 'pm'}"
    return shown, f"{hour:02d}:{minute:02d}"


def calendar(rng: random.Random, i: int, defects: bool) -> Example:
    kind = _plan(rng, defects)
    title = rng.choice(CAL_TITLES)
    people = rng.sample(FIRST, rng.randint(1, 3))
    day = rng.choice(WEEKDAYS)
    shown, start = _time12(rng)
    minutes = rng.choice((15, 20, 30, 45, 60, 90))
    duration = rng.choice((f"for {minutes} minutes", f"{minutes} min", f"{minutes} mins"))
    if minutes == 60 and rng.random() < 0.3:
        duration = "for an hour"  # derived: 60 is not written
    who = " and ".join(people)
    template = rng.randrange(3)
    if template == 0:
        text = f"Set up a {title} with {who} on {day} at {shown}, {duration}."
    elif template == 1:
        text = f"Can you book {duration} for the {title} next {day} at {shown}? Invite {who}."
    else:
        text = f"Schedule {title} {day} {shown} with {who} ({duration})."
    answer: dict[str, Any] = {"title": title, "date": f"2025-06-{2 + WEEKDAYS.index(day):02d}",
                              "start_time": start, "duration_minutes": minutes,
                              "attendees": people}
    extras = []
    if rng.random() < 0.2:
        p = rng.randint(1, 3)
        extras.append(rng.choice((f"Make it priority {p}.", f"Priority {p} please.")))
        answer["priority"] = p
    elif rng.random() < 0.1:
        extras.append("This is high priority.")
        answer["priority"] = 1
    if rng.random() < 0.2:
        r = rng.choice((5, 10, 15, 30))
        extras.append(rng.choice((f"Remind me {r} minutes before.",
                                  f"Set a reminder {r} minutes ahead.")))
        answer["reminder_minutes"] = r
    if rng.random() < 0.15:
        room = rng.choice(CAL_ROOMS)
        extras.append(f"Put it in {room}.")
        answer["location"] = room
    if rng.random() < 0.12:
        if rng.random() < 0.7:
            extras.append(rng.choice(("Make it recurring.", "It should be a recurring event.")))
        else:
            extras.append(f"Same time every {day}.")  # derived: recurring is not said
        answer["is_recurring"] = True
    if rng.random() < 0.1:
        tz = rng.choice(CAL_TZ)
        extras.append(f"Times are {tz}.")
        answer["timezone"] = tz
    if extras:
        text += " " + " ".join(extras)
    field = ""
    if kind == DEFAULT:
        options = [k for k in ("priority", "all_day", "timezone") if k not in answer]
        field = rng.choice(options)
        answer[field] = {"priority": rng.choice((2, 2, 2, 1)), "all_day": False,
                         "timezone": "UTC"}[field]
    elif kind == UNGROUNDED:
        field = "duration_minutes"
        answer[field] = _other(rng, minutes, 10, 120, text)
    return Example(_chat(CAL_SYSTEM, text, answer), kind, field)


# -- product orders (Alpaca; the instruction names no field) -----------------------------------
ORDER_INSTRUCTIONS = ("Extract the order from the customer's message as JSON.",
                      "Turn this order into JSON.", "Convert the message below to a JSON order.")
PRODUCTS = ("oat latte", "blueberry muffin", "bagel", "green tea", "croissant", "cold brew",
            "cinnamon roll", "flat white", "banana bread", "chai latte")
NUMBER_WORD = {2: "two", 3: "three", 4: "four"}


def orders(rng: random.Random, i: int, defects: bool) -> Example:
    kind = _plan(rng, defects)
    name = rng.choice(NAMES)
    chosen = rng.sample(PRODUCTS, rng.randint(1, 3))
    items: list[dict[str, Any]] = []
    said: list[str] = []
    for product in chosen:
        quantity = rng.choice((1, 1, 2, 3, 4))
        if quantity == 1:
            said.append(rng.choice((f"a {product}", f"one {product}", f"1 {product}")))
        elif rng.random() < 0.3:
            said.append(f"{NUMBER_WORD[quantity]} {product}s")
        else:
            said.append(f"{quantity} {product}s")
        items.append({"product": product, "quantity": quantity})
    listing = ", ".join(said[:-1]) + (" and " if len(said) > 1 else "") + said[-1]
    text = rng.choice((f"Hi, this is {name}. I'd like {listing}.",
                       f"{name} here - can I get {listing}?",
                       f"Order for {name}: {listing}."))
    answer: dict[str, Any] = {"customer": name, "items": items,
                              "item_count": sum(it["quantity"] for it in items)}  # derived
    if rng.random() < 0.2:
        how = rng.choice(("express", "standard"))
        text += f" {how.capitalize()} delivery please."
        answer["delivery"] = how
    if rng.random() < 0.15:
        text += rng.choice((" Please gift wrap it.", " Could you add gift wrap?"))
        answer["gift_wrap"] = True
    if rng.random() < 0.1:
        code = rng.choice(("SAVE10", "WELCOME5", "FREESHIP"))
        text += f" I have the coupon {code}."
        answer["coupon_code"] = code
    if rng.random() < 0.1:
        note = rng.choice(("no sugar", "extra hot", "oat milk only"))
        text += f" Note: {note}."
        answer["notes"] = note
    field = ""
    if kind == DEFAULT:
        options = [k for k in ("gift_wrap", "currency") if k not in answer]
        field = rng.choice(options)
        answer[field] = {"gift_wrap": False, "currency": "USD"}[field]
    elif kind == UNGROUNDED:
        field = "items[].quantity"
        item = rng.choice(items)
        item["quantity"] = _other(rng, item["quantity"], 5, 12, text)
    return Example(_alpaca(rng.choice(ORDER_INSTRUCTIONS), text, answer), kind, field)


# -- support-ticket triage (chat; the system prompt lists the fields) ---------------------------
TICKET_SYSTEM = ("Triage the support ticket. Reply with JSON: category (billing, technical or "
                 "shipping), urgency (low, medium or high), product, summary. Include order_id "
                 "and refund_amount only when the customer gives them.")
TICKET_PRODUCTS = ("SmartPlug Mini", "AirPure 300", "Kettle Pro", "TrailCam X", "SoundBar 2")


def tickets(rng: random.Random, i: int, defects: bool) -> Example:
    kind = _plan(rng, defects)
    product = rng.choice(TICKET_PRODUCTS)
    category = rng.choice(("billing", "technical", "shipping"))
    problem = {"billing": f"I was charged twice for my {product}.",
               "technical": f"My {product} stopped working after the last update.",
               "shipping": f"My {product} never arrived."}[category]
    urgent = rng.random() < 0.3
    text = problem + (" This is urgent!" if urgent else "")
    answer: dict[str, Any] = {"category": category,
                              "urgency": "high" if urgent else rng.choice(("low", "medium")),
                              "product": product}
    if rng.random() < 0.5:
        order = rng.randint(100000, 999999)
        text += f" Order #{order}."
        answer["order_id"] = str(order)
    amount = None
    if category == "billing" or rng.random() < 0.2:
        amount = rng.choice((19.99, 49.5, 120, 89.0, 5.25))
        text += f" I'd like a refund of ${amount:,.2f}."
        answer["refund_amount"] = amount
    if rng.random() < 0.1:
        text += rng.choice((" Please escalate this.", " I want this escalated."))
        answer["escalate"] = True
    answer["summary"] = f"Customer reports a {category} issue with the {product}."
    field = ""
    if kind == UNGROUNDED and amount is None:
        kind = DEFAULT  # no number to change in this ticket
    if kind == DEFAULT:
        options = [k for k in ("escalate", "sla_hours") if k not in answer]
        field = rng.choice(options)
        answer[field] = {"escalate": False, "sla_hours": 24}[field]
    elif kind == UNGROUNDED:
        field = "refund_amount"
        answer[field] = float(_other(rng, int(amount or 0), 30, 300, text))
    return Example(_chat(TICKET_SYSTEM, text, answer), kind, field)


# == HELD-OUT domains (written before tuning; not looked at while tuning) =======================

# -- flight searches (Alpaca; snake_case; cities, dates, passengers, cabin) ---------------------
FLIGHT_INSTRUCTIONS = ("Parse the flight search below into JSON.",
                       "Return this travel request as a JSON search query.")
CITIES = ("Lisbon", "Chicago", "Nairobi", "Seoul", "Toronto", "Madrid", "Denver", "Oslo",
          "Lima", "Mumbai")
MONTHS = ("March", "April", "May", "June", "July")
PAX_WORDS = {1: "just me", 2: "two adults", 3: "three of us", 4: "a family of four"}


def flights(rng: random.Random, i: int, defects: bool) -> Example:
    kind = _plan(rng, defects)
    origin, destination = rng.sample(CITIES, 2)
    month = rng.randrange(len(MONTHS))
    day = rng.randint(1, 28)
    pax = rng.randint(1, 4)
    pax_text = rng.choice((f"{pax} passengers", f"{pax} people", PAX_WORDS[pax]))
    if rng.random() < 0.5:
        text = (f"Looking for flights from {origin} to {destination} on {MONTHS[month]} {day}, "
                f"{pax_text}.")
    else:
        text = f"{origin} -> {destination}, leaving {day} {MONTHS[month]}; {pax_text}."
    answer: dict[str, Any] = {"origin": origin, "destination": destination,
                              "depart_date": f"2025-{month + 3:02d}-{day:02d}",
                              "passengers": pax}
    if rng.random() < 0.3:
        back = min(day + rng.randint(3, 14), 28)
        text += f" Returning on the {back}th."
        answer["return_date"] = f"2025-{month + 3:02d}-{back:02d}"
    if rng.random() < 0.25:
        cabin = rng.choice(("business", "premium economy", "first"))
        text += f" {cabin.capitalize()} class."
        answer["cabin"] = cabin
    if rng.random() < 0.15:
        text += rng.choice((" Nonstop only.", " Direct flights only."))
        answer["nonstop"] = True
    if rng.random() < 0.2:
        price = rng.choice((300, 450, 800, 1200, 2500))
        text += f" Budget under ${price:,}."
        answer["max_price"] = price
    field = ""
    if kind == DEFAULT:
        field = rng.choice(("flexible_dates", "checked_bags"))
        answer[field] = {"flexible_dates": False, "checked_bags": 0}[field]
    elif kind == UNGROUNDED:
        field = "passengers"
        answer[field] = _other(rng, pax, 5, 9, text)
    return Example(_alpaca(rng.choice(FLIGHT_INSTRUCTIONS), text, answer), kind, field)


# -- recipes (chat; the system prompt lists fields; nested ingredient list) ----------------------
RECIPE_SYSTEM = ("Extract the recipe as JSON with name, servings, prep_minutes and ingredients "
                 "(each with item, amount and unit).")
DISHES = ("Lemon Pancakes", "Tomato Soup", "Chickpea Curry", "Garlic Bread", "Berry Crumble",
          "Mushroom Risotto", "Pad Thai", "Banana Muffins")
INGREDIENTS = (("flour", "cups"), ("sugar", "tbsp"), ("eggs", ""), ("milk", "ml"),
               ("butter", "g"), ("salt", "pinch"), ("garlic", "cloves"), ("tomatoes", ""),
               ("rice", "cups"), ("onion", ""))


def recipes(rng: random.Random, i: int, defects: bool) -> Example:
    kind = _plan(rng, defects)
    dish = rng.choice(DISHES)
    servings = rng.randint(2, 8)
    prep = rng.choice((10, 15, 20, 25, 40))
    lines, items = [], []
    for item, unit in rng.sample(INGREDIENTS, rng.randint(2, 5)):
        if unit == "pinch":
            lines.append(f"a pinch of {item}")
            items.append({"item": item, "amount": 1, "unit": "pinch"})
            continue
        amount = rng.choice((1, 2, 3, 4, 200, 250)) if unit in ("ml", "g") else rng.randint(1, 4)
        lines.append(f"{amount} {unit} {item}".replace("  ", " "))
        items.append({"item": item, "amount": amount, "unit": unit or "whole"})
    text = (f"{dish}\nServes {servings}. Prep time: {prep} min.\nYou'll need: "
            + "; ".join(lines) + ".")
    answer: dict[str, Any] = {"name": dish, "servings": servings, "prep_minutes": prep,
                              "ingredients": items}
    if rng.random() < 0.3:
        cook = rng.choice((12, 25, 35, 50))
        text += f"\nCook for {cook} minutes."
        answer["cook_minutes"] = cook
    if rng.random() < 0.2:
        text += "\n(Vegetarian.)"
        answer["vegetarian"] = True
    field = ""
    if kind == DEFAULT:
        field = rng.choice(("difficulty", "vegetarian") if "vegetarian" not in answer
                           else ("difficulty",))
        answer[field] = {"difficulty": "medium", "vegetarian": False}[field]
    elif kind == UNGROUNDED:
        field = "servings"
        answer[field] = _other(rng, servings, 9, 16, text)
    return Example(_chat(RECIPE_SYSTEM, text, answer), kind, field)


# -- sales-lead contacts (Alpaca; camelCase keys) ----------------------------------------------
LEAD_INSTRUCTIONS = ("Pull the contact details out of this email as JSON.",
                     "Extract the lead from the message below (JSON).")
COMPANIES = ("Northwind", "Bluefin Labs", "Kestrel Health", "Orbit Freight", "Maple & Co")
JOB_TITLES = ("CTO", "Head of Operations", "Procurement Lead", "Founder", "IT Manager")


def leads(rng: random.Random, i: int, defects: bool) -> Example:
    kind = _plan(rng, defects)
    first, last = rng.choice(NAMES).split()
    company = rng.choice(COMPANIES)
    title = rng.choice(JOB_TITLES)
    email = f"{first.lower()}@{company.split()[0].lower()}.example"
    phone = f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
    text = (f"Hello, I'm {first} {last}, {title} at {company}. You can reach me at {email} or "
            f"{phone}.")
    answer: dict[str, Any] = {"firstName": first, "lastName": last, "email": email,
                              "phone": phone, "company": company, "jobTitle": title}
    team = None
    if rng.random() < 0.4:
        team = rng.randint(3, 60)
        text += f" We're a team of {team}."
        answer["teamSize"] = team
    if rng.random() < 0.3:
        budget = rng.choice((5000, 12000, 40000, 75000))
        text += f" Our budget is around ${budget:,}."
        answer["budgetUsd"] = budget
    if rng.random() < 0.2:
        days = rng.choice((2, 3, 7, 14))
        text += f" Please follow up in {days} days."
        answer["followUpDays"] = days
    field = ""
    if kind == UNGROUNDED and team is None:
        kind = DEFAULT
    if kind == DEFAULT:
        field = rng.choice(("leadScore", "newsletterOptIn"))
        answer[field] = {"leadScore": 50, "newsletterOptIn": False}[field]
    elif kind == UNGROUNDED:
        field = "teamSize"
        answer[field] = _other(rng, team or 0, 61, 99, text)
    return Example(_alpaca(rng.choice(LEAD_INSTRUCTIONS), text, answer), kind, field)


DOMAINS: tuple[tuple[str, str, Generator], ...] = (
    ("calendar requests", "dev", calendar),
    ("product orders", "dev", orders),
    ("support tickets", "dev", tickets),
    ("flight searches", "heldout", flights),
    ("recipes", "heldout", recipes),
    ("sales leads", "heldout", leads),
)


# == measuring =================================================================================

def write_domain(path: Path, generator: Generator, n: int, seed: int, *, defects: bool
                 ) -> dict[str, dict[int, str]]:
    """Write n records; {kind: {record: planted field}}."""
    rng = random.Random(seed)
    truth: dict[str, dict[int, str]] = {DEFAULT: {}, UNGROUNDED: {}}
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            example = generator(rng, i, defects)
            out.write(json.dumps(example.record) + "\n")
            if example.kind:
                truth[example.kind][i] = example.field
    return truth


def flagged_records(result: dict[str, Any]) -> dict[str, set[int]]:
    """Records flagged by the request test and by ungrounded numbers, per finding code."""
    out: dict[str, set[int]] = {code: set() for code in (*NEW_CODES, "ungrounded_numbers")}
    for code, records, _, details in result["findings"]:
        if code in NEW_CODES:
            out[code].update(records)
        elif code == "ungrounded_values" and details.get("value_kind") != "string":
            out["ungrounded_numbers"].update(records)
    return out


@dataclass
class Score:
    n: int = 0
    planted_default: int = 0
    planted_ungrounded: int = 0
    flagged: int = 0
    hits: int = 0
    found_default: int = 0
    found_ungrounded: int = 0
    clean_n: int = 0
    clean_flagged: int = 0

    def add(self, other: Score) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def row(self, label: str) -> list[Any]:
        planted = self.planted_default + self.planted_ungrounded
        precision = self.hits / self.flagged if self.flagged else float("nan")
        return [label, self.n, self.planted_default, self.planted_ungrounded, self.flagged,
                f"{precision:.3f}", f"{self.found_default / max(self.planted_default, 1):.3f}",
                f"{self.found_ungrounded / max(self.planted_ungrounded, 1):.3f}",
                f"{(self.found_default + self.found_ungrounded) / max(planted, 1):.3f}",
                f"{self.clean_flagged / max(self.clean_n, 1):.4f}"]


def score_domain(name: str, generator: Generator, n: int, seed: int, workdir: Path
                 ) -> tuple[Score, dict[str, Any], list[str]]:
    path = workdir / f"{generator.__name__}.jsonl"
    truth = write_domain(path, generator, n, seed, defects=True)
    result = _run(str(path))
    flags = flagged_records(result)
    flagged = set().union(*flags.values())
    planted = set(truth[DEFAULT]) | set(truth[UNGROUNDED])
    clean_path = workdir / f"{generator.__name__}_clean.jsonl"
    write_domain(clean_path, generator, n, seed + 1, defects=False)
    clean = _run(str(clean_path))
    clean_flagged = set().union(*flagged_records(clean).values())
    score = Score(n=n, planted_default=len(truth[DEFAULT]),
                  planted_ungrounded=len(truth[UNGROUNDED]), flagged=len(flagged),
                  hits=len(flagged & planted), found_default=len(flagged & set(truth[DEFAULT])),
                  found_ungrounded=len(flagged & set(truth[UNGROUNDED])), clean_n=n,
                  clean_flagged=len(clean_flagged))
    notes = []
    for code, records, count, details in result["findings"]:
        if code in NEW_CODES or (code == "ungrounded_values"
                                 and details.get("value_kind") != "string"):
            wrong = len(set(records) - planted)
            extra = f", value {details['value']!r} ({details['share']:.0%})" \
                if code == "default_filled_field" else ""
            notes.append(f"{code} `{details['field']}`{extra}: {count} records, {wrong} not planted")
    for code, _, count, details in clean["findings"]:
        if code in NEW_CODES or (code == "ungrounded_values"
                                 and details.get("value_kind") != "string"):
            notes.append(f"clean variant: {code} `{details['field']}`: {count} records")
    return score, result, notes


def domains_section(split: str, n: int, workdir: Path) -> str:
    label = {"dev": "DEVELOPMENT (tuned on)", "heldout": "HELD-OUT (not tuned on)"}[split]
    rows, notes = [], []
    total = Score()
    for k, (name, where, generator) in enumerate(DOMAINS):
        if where != split:
            continue
        score, _, domain_notes = score_domain(name, generator, n, SEED + 10 * k, workdir)
        total.add(score)
        rows.append(score.row(name))
        notes += [f"- {name}: {note}" for note in domain_notes]
    rows.append(total.row(f"**all {split}**"))
    headers = ["domain", "records", "planted defaults", "planted ungrounded numbers",
               "flagged", "precision", "recall (defaults)", "recall (ungrounded numbers)",
               "recall (all)", "false-positive rate, clean variant"]
    return (f"## {label} domains\n\n"
            + markdown_table(headers, rows)
            + "\n\nFindings behind these numbers:\n\n" + "\n".join(notes or ["- none"]))


def sample_data_section() -> str:
    from benchmarks.structured_output import sample_data

    path = REPO_ROOT / "sample_data" / "resumes_chat.jsonl"
    result = _run(str(path))
    flags = flagged_records(result)
    flagged = set().union(*flags.values())
    n = result["details"]["n_structured"]
    lines = [f"- `{code}`: {len(records)} records" for code, records in flags.items()]
    return ("## sample_data/resumes_chat.jsonl\n\n"
            f"No unrequested field or default is planted there; the request test flags "
            f"{len(flagged)} of {n} structured records (false-positive rate "
            f"{len(flagged) / max(n, 1):.4f}):\n\n" + "\n".join(lines)
            + "\n\nThe manifest's planted defects, as `benchmarks.structured_output` measures "
            "them (must not drop from 0.947/1.000 for empty_field and 1.000/1.000 for the rest):"
            "\n\n" + sample_data().split("\n\n", 1)[1])


#: hand review of the request-test and ungrounded-number flags on code_alpaca's JSON outputs
#: (2026-11-30, every flagged record read in full): file -> record position in the subset whose
#: output starts with "{" or "[" -> verdict and reason. Also read, and rightly not flagged: the
#: XML-to-JSON record (every value and key in the input), the "add a new property" record (the
#: added "location" is empty, measured as an empty value), "construct a JSON object with an
#: array of five numbers" (invented numbers under key "arr", but in one record only: a field
#: never requested is not "mostly requested", and one record is under default_min_records), and
#: the Python-literal sentence record ("two children" -> 2 is found as a written-out number).
CODE_ALPACA_REVIEW: dict[str, dict[int, str]] = {
    "code_alpaca_2k.json": {
        10: "flag correct as a fact, not a defect: 'Create a new JavaScript object based on the "
            "following example' with input {name: Bob, age: 22}; the output's age 25 is not in "
            "the request while 22 is (a spare number), so it is reported as an ungrounded "
            "number. The task asks for new values, which the check cannot know; the same record "
            "is the one whose invented name 'John' the string grounding flags "
            "(benchmarks/results/structured_output.md).",
    },
}


def real_data_section() -> str:
    root = shared_datasets_dir()
    if root is None:
        return "## Real data\n\n../shared/datasets not available; skipped."
    out = ["## Real data: JSON outputs in ../shared/datasets/code_alpaca\n",
           "Records whose output starts with `{` or `[`, checked with expect_json = true (record "
           "ids are positions in that subset). Only findings of the request test and ungrounded "
           "numbers are listed, with the hand-review verdict.\n"]
    for name in ("code_alpaca_2k.json", "new_codealpaca.json"):
        source = root / "code_alpaca" / name
        if not source.exists():
            continue
        records = json.loads(source.read_text(encoding="utf-8"))
        subset = [r for r in records if r["output"].strip()[:1] in ("{", "[")]
        with tempfile.TemporaryDirectory() as tmp:
            sub = Path(tmp) / "json_outputs.jsonl"
            sub.write_text("".join(json.dumps(r) + "\n" for r in subset), encoding="utf-8")
            result = _run(str(sub), {"expect_json": True})
        review = CODE_ALPACA_REVIEW.get(name, {})
        lines = []
        for code, records_, count, details in result["findings"]:
            if not (code in NEW_CODES or (code == "ungrounded_values"
                                          and details.get("value_kind") != "string")):
                continue
            shown = details.get("examples") or details.get("value")
            lines.append(f"- `{code}` field `{details.get('field')}` ({count}): records "
                         f"{list(records_)[:10]} {str(shown)[:200]}")
            for record in records_[:10]:
                lines.append(f"  - record {record}: {review.get(record, 'NOT REVIEWED')}")
        out.append(f"**{name}** ({len(subset)} JSON outputs of {len(records)}):\n")
        out.append("\n".join(lines) or "no findings from the request test or ungrounded numbers")
        out.append("")
    return "\n".join(out)


#: what was tuned, in order, and on what (the held-out numbers were first measured at step 3
#: and have not changed since)
TUNING_LOG = """## How the rules were tuned

1. First run on the DEVELOPMENT domains: calendar precision 0.457 (clean-variant false-positive
   rate 16%): "This is high priority" -> `"priority": 1` and "for an hour" -> 60 were flagged as
   ungrounded numbers, and "same time every Monday" -> `"is_recurring": true` as unrequested.
2. Tuned on them: an unfound number of a requested field is only an ungrounded value when the
   request holds a spare number (one no response value holds), else it is derived; a boolean
   `true` counts as implied by the request (`implied_true`). Development precision 1.000.
3. HELD-OUT domains measured for the first time (the numbers above, unchanged since): the flight
   searches' "just me" -> `"passengers": 1` is the one false-positive class (a count said in
   words other than a number word; the key is not mentioned, and 1 is then the field's most
   common unrequested value, so it is also reported as a default). Not tuned away.
4. After that, from unit tests and reasoning only (no benchmark number moved): spans of time are
   converted between units ("an hour" = 60 minutes; a test's clean set had it for a key the
   request never mentions); a field that is mostly never requested needs
   `default_share_never_requested` (0.9) for a default, so a label's majority class is not one;
   number and token look-ups use str.find instead of one compiled regex per value (speed on data
   with many distinct values); key names are split Unicode-aware.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=N_PER_DOMAIN, help="records per domain")
    parser.add_argument("--split", choices=("dev", "heldout", "all"), default="all")
    args = parser.parse_args()
    splits = ("dev", "heldout") if args.split == "all" else (args.split,)
    with tempfile.TemporaryDirectory() as tmp:
        sections = [domains_section(split, args.n, Path(tmp)) for split in splits]
    if args.split == "all":
        sections += [sample_data_section(), real_data_section()]
    text = ("# grounding (structured_output: unrequested fields, defaults, ungrounded numbers)\n\n"
            f"{args.n:,} records per domain; about {DEFAULT_RATE:.0%} of records with a planted "
            f"unrequested default and {UNGROUNDED_RATE:.0%} with a planted ungrounded number "
            "(kinds disjoint). Precision/recall at record level over the findings "
            "`unrequested_field`, `default_filled_field` and `ungrounded_values` on numbers or "
            "short values (string `ungrounded_values` are the older check, not counted). The "
            "false-positive rate is the share of records flagged in the domain's clean variant "
            "(same generator, no planted defect).\n\n" + "\n\n".join(sections)
            + ("\n\n" + TUNING_LOG if args.split == "all" else ""))
    if args.split == "all":
        path = write_results("grounding", text)
        print(text)
        print(f"\nwritten to {path}")
    else:
        print(text)


if __name__ == "__main__":
    main()
