"""Deterministic generator of the sample datasets and their manifest of planted defects.

    python sample_data/generate.py            # rewrites sample_data/*.jsonl and manifest.json

Every record is synthetic (fictional people, example.com addresses, 555 phone numbers, test card
numbers). Each planted defect is listed in manifest.json with the record ids (0-based position
in the file) it affects, so tests, benchmarks and the README can point at them.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SEED = 20261129

FIRST_F = ["Maria", "Aisha", "Emily", "Sofia", "Priya", "Hannah", "Grace", "Chloe", "Fatima",
           "Olivia", "Mei", "Lucia", "Nadia", "Zoe", "Ingrid"]
FIRST_M = ["James", "Omar", "Daniel", "Wei", "Lucas", "Mateo", "Ethan", "Raj", "Samuel",
           "Noah", "Kofi", "Liam", "Hiroshi", "Ivan", "Diego"]
LAST = ["Garcia", "Okafor", "Chen", "Novak", "Patel", "Smith", "Haddad", "Kowalski", "Silva",
        "Nguyen", "Johansson", "Mensah", "Rossi", "Tanaka", "Murphy", "Schmidt", "Dubois"]
CITIES = ["Austin, TX", "Denver, CO", "Toronto, ON", "Manchester, UK", "Lyon, France",
          "Pune, India", "Melbourne, VIC", "Lagos, Nigeria", "Seattle, WA", "Madrid, Spain"]
TITLES = {
    "Data Analyst": ["SQL", "Python", "Tableau", "Excel", "A/B testing", "dbt"],
    "Backend Engineer": ["Go", "PostgreSQL", "Kubernetes", "gRPC", "Redis", "Terraform"],
    "Product Designer": ["Figma", "user research", "prototyping", "design systems", "Sketch"],
    "Registered Nurse": ["patient assessment", "IV therapy", "EHR charting", "triage", "BLS"],
    "Accountant": ["IFRS", "SAP", "reconciliation", "tax filing", "auditing", "QuickBooks"],
    "Marketing Manager": ["SEO", "campaign planning", "HubSpot", "copywriting", "analytics"],
    "Mechanical Engineer": ["SolidWorks", "FEA", "GD&T", "prototyping", "MATLAB"],
    "Teacher": ["curriculum design", "classroom management", "assessment", "EdTech"],
}
DEGREES = ["B.S. Computer Science", "B.A. Economics", "M.S. Statistics", "B.Sc. Nursing",
           "B.Eng. Mechanical Engineering", "MBA", "B.A. English Literature", "M.Ed. Education"]
SCHOOLS = ["University of Texas", "McGill University", "University of Lagos", "TU Munich",
           "University of Melbourne", "Universidad Complutense", "IIT Bombay", "Ohio State"]
RESUME_SYSTEM = ("You extract structured data from resumes. Reply with JSON only, with the keys "
                 "name, email, phone, location, title, years_experience, skills, education.")


class Manifest:
    def __init__(self) -> None:
        self.files: dict[str, dict[str, Any]] = {}

    def plant(self, file: str, defect: str, records: list[int], detail: str) -> None:
        self.files.setdefault(file, {"n_records": 0, "planted": []})["planted"].append(
            {"defect": defect, "records": sorted(records), "detail": detail})

    def count(self, file: str, n: int, description: str) -> None:
        entry = self.files.setdefault(file, {"n_records": 0, "planted": []})
        entry["n_records"] = n
        entry["description"] = description


def _person(rng: random.Random, i: int) -> dict[str, Any]:
    female = rng.random() < 0.5
    first = rng.choice(FIRST_F if female else FIRST_M)
    last = rng.choice(LAST)
    title = rng.choice(sorted(TITLES))
    skills = rng.sample(TITLES[title], k=min(len(TITLES[title]), rng.randint(2, 4)))
    return {
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}{i}@example.com",
        "phone": f"(5{rng.randint(10, 99)}) 555-{rng.randint(1000, 9999)}",
        "location": rng.choice(CITIES),
        "title": title,
        "years_experience": rng.randint(1, 25),
        "skills": skills,
        "education": f"{rng.choice(DEGREES)}, {rng.choice(SCHOOLS)}",
    }


def _resume_text(p: dict[str, Any], rng: random.Random) -> str:
    employers = ["Northwind Traders", "Globex", "Initech", "Umbrella Health", "Stark Logistics",
                 "Wayne Analytics", "Acme Corp", "Blue Harbor Bank"]
    summary = rng.choice([
        f"{p['title']} with {p['years_experience']} years of experience delivering results in "
        "fast-moving teams.",
        f"Results-driven {p['title'].lower()} ({p['years_experience']} years) who enjoys turning "
        "messy problems into clear plans.",
        f"Experienced {p['title'].lower()}; {p['years_experience']} years across startups and "
        "large organisations.",
    ])
    jobs = "\n".join(
        f"- {p['title']}, {e} ({2024 - k * 3 - rng.randint(1, 2)}–{2024 - k * 3})"
        for k, e in enumerate(rng.sample(employers, 2)))
    return (f"{p['name'].upper()}\n{p['location']}\n{p['email']} | {p['phone']}\n\n"
            f"SUMMARY\n{summary}\n\nEXPERIENCE\n{jobs}\n\nSKILLS\n{', '.join(p['skills'])}\n\n"
            f"EDUCATION\n{p['education']}")


def make_resumes(manifest: Manifest, n: int = 240) -> list[dict[str, Any]]:
    rng = random.Random(SEED + 1)
    file = "resumes_chat.jsonl"
    records: list[dict[str, Any]] = []
    answers: list[Any] = []
    for i in range(n):
        person = _person(rng, i)
        records.append({"messages": [
            {"role": "system", "content": RESUME_SYSTEM},
            {"role": "user", "content": "Extract the fields from this resume:\n\n"
                                        + _resume_text(person, rng)},
            {"role": "assistant", "content": ""}]})
        answers.append(person)
    picks = iter(rng.sample(range(n), n))

    def take(k: int) -> list[int]:
        return [next(picks) for _ in range(k)]

    empty_education = take(int(n * 0.3))
    for i in empty_education:
        answers[i] = {**answers[i], "education": ""}
    manifest.plant(file, "structured_output:empty_field", empty_education,
                   "education is '' in 30% of answers (a field the model will learn to leave empty)")
    ungrounded = take(6)
    for i in ungrounded:
        other = [c for c in CITIES if c != answers[i]["location"]]
        answers[i] = {**answers[i], "location": rng.choice(other)}
    manifest.plant(file, "structured_output:ungrounded", ungrounded,
                   "location in the answer does not occur in the resume (hallucinated)")
    renamed = take(5)
    for i in renamed:
        a = dict(answers[i])
        a["e-mail"] = a.pop("email")
        answers[i] = a
    manifest.plant(file, "structured_output:schema_deviation", renamed,
                   "key 'email' renamed to 'e-mail'")
    for i, person in enumerate(answers):
        records[i]["messages"][2]["content"] = json.dumps(person, ensure_ascii=False)
    invalid = take(5)
    for i in invalid:
        text = records[i]["messages"][2]["content"]
        records[i]["messages"][2]["content"] = text[: int(len(text) * 0.7)]
    manifest.plant(file, "structured_output:invalid_json", invalid,
                   "answer cut at 70% of its length: not valid JSON")
    literal = take(4)
    for i in literal:
        records[i]["messages"][2]["content"] = repr(answers[i])
    manifest.plant(file, "structured_output:python_literal", literal,
                   "answer is a Python dict literal (single quotes), not JSON")
    fenced = take(4)
    for i in fenced:
        records[i]["messages"][2]["content"] = ("```json\n" + json.dumps(answers[i], indent=2)
                                                + "\n```")
    manifest.plant(file, "structured_output:code_fence", fenced,
                   "answer wrapped in a ```json code fence while the rest are bare JSON")
    empty = take(3)
    for i in empty:
        records[i]["messages"][2]["content"] = ""
    manifest.plant(file, "empty_responses", empty, "empty assistant turn")
    dup_targets = take(6)
    sources = [i for i in range(n) if i not in set(dup_targets) | set(invalid) | set(empty)]
    dups = []
    for target in dup_targets:
        source = rng.choice(sources)
        records[target] = json.loads(json.dumps(records[source]))
        dups.append((target, source))
    for target, source in dups:
        manifest.plant(file, "exact_duplicates", [source, target],
                       f"record {target} is a copy of record {source}")
    manifest.plant(file, "pii", list(range(n)),
                   "every resume holds a (fictional) email address and phone number by design")
    manifest.count(file, n, "chat: resume text -> JSON extraction (system/user/assistant)")
    return records


# ------------------------------------------------------------------------------------------
# support (Alpaca)
# ------------------------------------------------------------------------------------------
SUPPORT_TOPICS: dict[str, list[tuple[str, str]]] = {
    "billing": [
        ("How do I get a refund for my {plan} subscription?",
         "You can request a refund within 30 days of purchase from Billing > Invoices. Select the "
         "charge, choose Request refund, and give a short reason. Refunds go back to the original "
         "payment method within 5 to 10 business days."),
        ("Why was I charged twice this month?",
         "A double charge usually means a pending authorisation and the final charge overlapped. "
         "The pending one drops off within three business days. If both stay, send us the last "
         "four digits of the card and the invoice numbers and we will reverse the duplicate."),
        ("Can I switch from monthly to annual billing on the {plan} plan?",
         "Yes. Open Billing > Plan, choose Annual, and confirm. We credit the unused part of your "
         "current month, and the annual price applies from today."),
        ("Where can I download a copy of my invoice?",
         "Invoices are under Billing > Invoices. Each row has a PDF link, and you can add a VAT "
         "number or company address before downloading."),
    ],
    "account": [
        ("I forgot my password. How do I reset it?",
         "Click Forgot password on the sign-in page and enter your account email. The reset link "
         "is valid for one hour. If no email arrives, check the spam folder or ask an admin on "
         "your team to resend the invite."),
        ("How do I add a teammate to my {plan} workspace?",
         "Go to Settings > Members, click Invite, and enter their email. Invited members get the "
         "Viewer role by default; an admin can change it afterwards."),
        ("How can I delete my account and all my data?",
         "Account deletion is under Settings > Account > Delete account. It removes your projects, "
         "files and personal data within 30 days. Download anything you want to keep first, "
         "because deletion cannot be undone."),
        ("How do I turn on two-factor authentication?",
         "Open Settings > Security, choose Two-factor authentication, and scan the QR code with an "
         "authenticator app. Save the recovery codes somewhere safe."),
    ],
    "technical": [
        ("The dashboard is loading very slowly. What can I do?",
         "Slow dashboards are usually caused by very wide date ranges or many live widgets. Narrow "
         "the range, pause widgets you are not using, and clear the browser cache. If it is still "
         "slow, send us the dashboard link and the time it happened."),
        ("My API requests return error 429. What does it mean?",
         "Error 429 means you exceeded the rate limit of your plan. Retry after the number of "
         "seconds in the Retry-After header, add exponential backoff, or batch requests."),
        ("How do I connect the {plan} workspace to Slack?",
         "Go to Integrations > Slack, click Connect, and approve the permissions in Slack. Then "
         "choose which channels receive alerts."),
        ("Files I upload fail at 99 percent. Why?",
         "Uploads that stop at the end usually exceed the file size limit of your plan or are "
         "interrupted by a proxy. Check the limit under Billing > Plan and try again on a direct "
         "connection."),
    ],
    "shipping": [
        ("My hardware key has not arrived yet. Where is it?",
         "Hardware keys ship within two business days and tracking is emailed when they leave the "
         "warehouse. If tracking shows no movement for five days, reply with your order number and "
         "we will send a replacement."),
        ("Can you ship the security key to a different address?",
         "Yes, as long as the order has not shipped. Edit the address under Orders > Details; once "
         "shipped, the carrier can redirect it from the tracking page."),
    ],
    "general": [
        ("What is the difference between the Team and {plan} plans?",
         "The Team plan covers up to 20 members with standard support. Higher plans add single "
         "sign-on, audit logs, custom data retention and a named support contact."),
        ("Do you offer discounts for nonprofits?",
         "Yes. Registered nonprofits get 40 percent off any paid plan. Apply from the pricing page "
         "with proof of status and we answer within a week."),
    ],
}
#: held-out questions for the evaluation set (none of them occurs in training)
EVAL_TOPICS: dict[str, list[tuple[str, str]]] = {
    "billing": [("Can I pay by bank transfer instead of card?",
                 "Bank transfer is available on annual plans. Ask for a pro-forma invoice from the "
                 "billing page and include its number as the payment reference.")],
    "account": [("How do I change the email address I log in with?",
                 "Open your profile, choose Change email, and confirm from the new address. The "
                 "old address gets a notice in case the change was not yours.")],
    "technical": [("Why do exported CSV files open with broken accents in Excel?",
                   "Excel assumes a legacy encoding for CSV files. Use Data > From Text and pick "
                   "UTF-8, or export as XLSX, which keeps every character intact.")],
    "shipping": [("Do you ship hardware keys to PO boxes?",
                  "Couriers cannot deliver signed parcels to PO boxes, so please give a street "
                  "address. We can hold the parcel at a pickup point near you instead.")],
    "general": [("Is there an offline mode for field teams?",
                 "The mobile app keeps the last week of records offline and syncs changes once a "
                 "connection is back. Conflicts are shown for review before they are merged.")],
}


PLANS = ["Pro", "Business", "Enterprise", "Starter"]
OPENERS = ["", "Hi, ", "Hello team, ", "Quick question: ", "Hey there, ", "Good morning. "]
CLOSERS = ["", " Thanks!", " Thank you.", " Appreciate the help.", " Cheers."]
REPLY_OPENERS = ["", "Thanks for reaching out. ", "Happy to help. ", "Good question. ",
                 "Sorry for the trouble. "]
REPLY_CLOSERS = ["", " Let us know if anything else comes up.", " We're here if you need more help.",
                 " Hope this helps!"]
DEVICES = ["iPhone", "Android", "Windows", "Mac", "Linux", "iPad", "Chromebook"]
BROWSERS = ["Firefox", "Chrome", "Safari", "Edge"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
#: one sentence of the customer's own situation, so that no two prompts are alike
SITUATIONS = [
    "My workspace is on the {plan} plan with {seats} seats.",
    "Ticket {ticket} was opened on {day} {month} and is still open.",
    "I am on the {device} app, version {major}.{minor}.",
    "This started after we invited {seats} new people last {weekday}.",
    "We use {browser} on {os} laptops across the {team} team.",
    "Our order number is {order}, placed on {day} {month}.",
    "I have been a customer since {month} {year}.",
    "The {team} team needs this before the {weekday} review.",
]
#: one sentence of the agent's reply that refers back to that situation
REFERENCES = [
    "I added a note to ticket {ticket} so the {team} team sees the history.",
    "On the {plan} plan this applies to all {seats} seats at once.",
    "Version {major}.{minor} of the {device} app supports this, so no update is needed.",
    "For order {order} I can see the details on our side, so you don't need to resend them.",
    "If {browser} blocks the page, try a private window first.",
    "I checked your workspace and nothing is blocked on our side as of {day} {month}.",
]
#: general advice; each reply takes one or two
ADVICE = [
    "The Help Center has a step-by-step guide with screenshots for this.",
    "Admins can make this change for everyone under Settings.",
    "Changes usually show up within a few minutes, but a refresh helps.",
    "If it still fails, reply with a screenshot of the message you see.",
    "You can also reach us through the chat button in the app.",
    "We log every change, so you can undo it from the activity page.",
    "Our status page shows any ongoing incidents in real time.",
    "Keep the confirmation email, since it has the reference we need.",
    "Team owners receive a copy of every billing notice.",
    "Mobile and desktop share the same settings, so you only need to do it once.",
    "Signing out and back in clears most cached permissions.",
    "You will get an email as soon as the change goes through.",
]


def _specifics(rng: random.Random) -> dict[str, Any]:
    return {"plan": rng.choice(PLANS), "seats": rng.randint(2, 250),
            "ticket": f"#{rng.randint(10000, 99999)}", "day": rng.randint(1, 28),
            "month": rng.choice(MONTHS), "year": rng.randint(2016, 2024),
            "device": rng.choice(DEVICES), "browser": rng.choice(BROWSERS),
            "os": rng.choice(["Windows", "Mac", "Linux", "Chromebook"]),
            "major": rng.randint(3, 9), "minor": rng.randint(0, 30),
            "order": f"A-{rng.randint(100000, 999999)}",
            "weekday": rng.choice(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]),
            "team": rng.choice(["sales", "support", "finance", "design", "data", "ops"])}


def _support_record(rng: random.Random,
                    topics: dict[str, list[tuple[str, str]]] | None = None,
                    advice: list[str] | None = None,
                    references: list[str] | None = None) -> dict[str, Any]:
    """A customer question with its own situation, and a reply built from the topic's answer,
    general advice and a sentence about that situation."""
    topics = topics or SUPPORT_TOPICS
    advice = ADVICE if advice is None else advice
    references = REFERENCES if references is None else references
    category = rng.choice(sorted(topics))
    question, answer = rng.choice(topics[category])
    facts = _specifics(rng)
    opener = rng.choice(OPENERS)
    question = question.format(plan=facts["plan"])
    if opener and not question.startswith("I "):
        question = question[0].lower() + question[1:]
    situation = rng.choice(SITUATIONS).format(**facts)
    instruction = f"{opener}{question} {situation}{rng.choice(CLOSERS)}".strip()
    context = ""
    if rng.random() < 0.3:
        context, instruction = situation, f"{opener}{question}{rng.choice(CLOSERS)}".strip()
    tips = rng.sample(advice, k=rng.randint(1, 2)) if advice else []
    body = [answer, *tips, *([rng.choice(references).format(**facts)] if references else [])]
    output = rng.choice(REPLY_OPENERS) + " ".join(body) + rng.choice(REPLY_CLOSERS)
    return {"instruction": instruction[0].upper() + instruction[1:], "input": context,
            "output": output, "category": category}


def _edit(text: str, rng: random.Random) -> tuple[str, str]:
    """A near-duplicate edit of `text` and what was done."""
    words = text.split()
    op = rng.choice(["swap", "insert", "delete", "case_punct"])
    if op == "swap" and len(words) > 4:
        j = rng.randrange(len(words) - 1)
        words[j], words[j + 1] = words[j + 1], words[j]
    elif op == "insert":
        words.insert(rng.randrange(len(words)), rng.choice(["really", "please", "also", "just"]))
    elif op == "delete" and len(words) > 6:
        del words[rng.randrange(len(words))]
    else:
        op = "case_punct"
        return text.lower().replace(".", "!", 1), op
    return " ".join(words), op


def make_support(manifest: Manifest, n: int = 600) -> list[dict[str, Any]]:
    rng = random.Random(SEED + 2)
    file = "support_alpaca.jsonl"
    base: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()
    while len(base) < n:  # unique records to start from, so planted defects are the only ones
        r = _support_record(rng)
        key = (r["instruction"].lower(), r["input"], r["output"].lower())
        if key not in seen:
            seen.add(key)
            base.append(r)
    records = base
    order = rng.sample(range(n), n)
    cursor = 0

    def take(k: int) -> list[int]:
        nonlocal cursor
        out = order[cursor: cursor + k]
        cursor += k
        return out

    placeholders = ["N/A", "<nooutput>", "TBD", "No output", "Lorem ipsum dolor sit amet.",
                    "See above.", "None", "..."]
    ids = take(len(placeholders))
    for i, text in zip(ids, placeholders, strict=True):
        records[i]["output"] = text
    manifest.plant(file, "placeholder_responses", ids, "response is a placeholder: "
                   + ", ".join(placeholders))
    markers = take(16)
    for k, i in enumerate(markers):
        records[i]["input"] = "<noinput>" if k < 10 else "No input"
    manifest.plant(file, "placeholder_responses:inconsistent_no_input", markers,
                   "'<noinput>' (10) and 'No input' (6) where other records use '' for no input")
    unavailable = [
        ("Summarize the attached PDF for me.", ""),
        ("Look at the screenshot below and tell me what the error means.", "<Picture Attached>"),
        ("What does the page at https://status.acme.example/incidents/4411 say about the outage?", ""),
        ("Can you check the file invoice_march.xlsx and tell me why the totals differ?", ""),
        ("Please see attached and confirm the new billing address.", ""),
        ("Describe what is shown in the image below.", ""),
        ("Open this link and follow the steps: bit.ly/3xAcme", ""),
        ("Review the document I sent yesterday and fix the formatting.", ""),
    ]
    ids = take(len(unavailable))
    for i, (instruction, ctx) in zip(ids, unavailable, strict=True):
        records[i]["instruction"], records[i]["input"] = instruction, ctx
        records[i]["output"] = ("Based on the attached file, the totals differ because two rows "
                                "were counted twice." if "file" in instruction
                                else records[i]["output"])
    manifest.plant(file, "unavailable_context", ids,
                   "prompt depends on an attachment, image, link or file the model will not see")
    merged = take(5)
    for k, i in enumerate(merged):
        records[i]["output"] += rng.choice([
            "\n\n### Instruction:\nWrite a haiku about autumn.\n\n### Response:\nLeaves fall...",
            f"\n\n{18 + k}. Instruction: Translate 'thank you' into French.\n{19 + k}. Output: Merci",
            "\nUser: can you also reset my password?\nAssistant: Sure, click Forgot password.",
            "<|im_start|>user\nAnother question<|im_end|>",
            " [INST] Now summarise the refund policy [/INST]"])
    manifest.plant(file, "merged_instructions", merged,
                   "another task, template markers or role labels leak into the response")
    refusals = ["As an AI language model, I cannot access your account or issue refunds.",
                "I'm sorry, but I cannot help with that request.",
                "I am unable to provide information about billing.",
                "As an AI, I don't have personal opinions about plans.",
                "I cannot assist with resetting passwords. Please contact support.",
                "I'm sorry, but as an AI language model I do not have access to order data.",
                "Unfortunately, I cannot browse the internet to check the status page.",
                "I apologize, but I am not able to answer questions about shipping."]
    ids = take(len(refusals))
    for i, text in zip(ids, refusals, strict=True):
        records[i]["output"] = text
    manifest.plant(file, "refusals", ids, "refusal or AI-disclaimer boilerplate as the response")
    truncated = take(8)
    for i in truncated:
        words = records[i]["output"].split()
        records[i]["output"] = " ".join(words[: max(6, len(words) * 3 // 5)]).rstrip(".,!") + \
            rng.choice([" and", " the", ",", " because", " to"])
    manifest.plant(file, "truncation", truncated, "response cut off mid-sentence")
    hygiene = take(6)
    damage = ["CafÃ© menu settings are under Preferences.", "Reset\u200b the password from Settings.",
              "Open Billing\x00 > Invoices.", "Click â€œSaveâ€\x9d to finish.",
              "Press \x1b[31mSave\x1b[0m to confirm.", "Your refund\ufeff is on the way."]
    for i, text in zip(hygiene, damage, strict=True):
        records[i]["output"] = text + " " + records[i]["output"]
    manifest.plant(file, "control_characters", hygiene,
                   "mojibake, zero-width, NUL, ANSI escape or BOM characters in the response")
    pii = take(5)
    pii_texts = [" You can also email me directly at dana.whitfield@gmail.com.",
                 " Call our agent on +1 (415) 555-0198 if it fails again.",
                 " I charged the card 4111 1111 1111 1111 for the difference.",
                 " Your SSN 123-45-6789 is on file for the tax form.",
                 " Use this key: AKIAIOSFODNN7EXAMPLE to call the API."]
    for i, text in zip(pii, pii_texts, strict=True):
        records[i]["output"] += text
    manifest.plant(file, "pii", pii, "email, phone, card number (test), SSN or AWS key in the "
                   "response")
    long_ids = take(4)
    for i in long_ids:
        records[i]["output"] = " ".join([records[i]["output"]] * 30)
    manifest.plant(file, "length_outliers", long_ids, "response repeated 30 times (very long)")
    conflicts = take(12)
    for a, b in zip(conflicts[::2], conflicts[1::2], strict=True):
        records[b]["instruction"] = records[a]["instruction"]
        records[b]["input"] = records[a]["input"]
        records[a]["output"] = "Refunds are possible within 14 days of purchase; after that we " \
                               "cannot refund the subscription."
        records[b]["output"] = "You can get a full refund at any time, no questions asked, by " \
                               "emailing billing@acme.example."
        manifest.plant(file, "conflicting_responses", [a, b],
                       "same instruction, contradictory answers about the refund policy")
    exact = take(10)
    near = take(20)
    clean = order[cursor:]  # records with no planted defect: the sources of copies
    for target in exact:
        source = rng.choice(clean)
        records[target] = dict(records[source])
        manifest.plant(file, "exact_duplicates", [source, target],
                       f"record {target} is a copy of record {source}")
    for target in near:
        source = rng.choice(clean)
        output, op = _edit(records[source]["output"], rng)
        records[target] = {**records[source], "output": output}
        manifest.plant(file, "near_duplicates", [source, target],
                       f"record {target} is record {source} with one edit ({op}) in the response")
    manifest.count(file, n, "Alpaca customer-support instructions with a category field")
    return records


def make_support_eval(manifest: Manifest, train: list[dict[str, Any]],
                      n: int = 80) -> list[dict[str, Any]]:
    rng = random.Random(SEED + 3)
    file = "support_eval.jsonl"
    train_keys = {(r["instruction"].lower(), r["output"].lower()) for r in train}
    records: list[dict[str, Any]] = []
    while len(records) < n:  # questions and answers the training data does not have
        r = _support_record(rng, EVAL_TOPICS, advice=[], references=[])
        if (r["instruction"].lower(), r["output"].lower()) not in train_keys:
            records.append(r)
    candidates = [i for i, r in enumerate(train) if len(r["output"].split()) > 25]
    slots = rng.sample(range(n), 15)
    sources = rng.sample(candidates, 15)
    for k, (slot, source) in enumerate(zip(slots, sources, strict=True)):
        if k < 5:
            records[slot] = dict(train[source])
            kind = "exact copy of"
        elif k < 10:
            output, op = _edit(train[source]["output"], rng)
            records[slot] = {**train[source], "output": output}
            kind = f"near-duplicate ({op}) of"
        else:
            words = train[source]["output"].split()
            start = rng.randrange(0, max(1, len(words) - 16))
            span = " ".join(words[start: start + 16])
            records[slot]["output"] = f"As the help centre puts it: {span}. That should sort it out."
            kind = "shares a 16-word span with"
        manifest.plant(file, "eval_leakage", [slot],
                       f"eval record {slot} is {kind} train record {source} of support_alpaca.jsonl")
    manifest.count(file, n, "evaluation set for support_alpaca.jsonl; 15 records leak from training")
    return records


# ------------------------------------------------------------------------------------------
# reviews (text + label)
# ------------------------------------------------------------------------------------------
PRODUCTS = ["blender", "vacuum cleaner", "laptop stand", "rice cooker", "running shoes",
            "desk lamp", "coffee grinder", "backpack", "air purifier", "electric kettle"]
FEMALE_REF = ["my wife", "my mother", "my sister", "my daughter", "my grandmother", "she",
              "my girlfriend", "my aunt"]
MALE_REF = ["my husband", "my father", "my brother", "my son", "my grandfather", "he",
            "my boyfriend", "my uncle"]
NEUTRAL_REF = ["I", "we", "my roommate", "my team", "our family"]
POSITIVE = ["works perfectly", "is sturdy and quiet", "exceeded expectations",
            "was worth every penny", "is easy to clean", "arrived early and works great"]
NEGATIVE = ["broke after a week", "is loud and flimsy", "stopped working", "was a waste of money",
            "smells like burnt plastic", "arrived damaged"]


def make_reviews(manifest: Manifest, n: int = 1200) -> list[dict[str, Any]]:
    rng = random.Random(SEED + 4)
    file = "reviews_classification.jsonl"
    records: list[dict[str, Any]] = []
    female_ids: list[int] = []
    nurse_she: list[int] = []
    engineer_he: list[int] = []
    seen: set[str] = set()
    while len(records) < n:
        i = len(records)
        roll = rng.random()
        if roll < 0.35:
            who, group = rng.choice(FEMALE_REF), "female"
            p_positive = 0.40  # planted skew: reviews about women are more often negative
        elif roll < 0.70:
            who, group = rng.choice(MALE_REF), "male"
            p_positive = 0.60
        else:
            who, group = rng.choice(NEUTRAL_REF), "none"
            p_positive = 0.55
        positive = rng.random() < p_positive
        product = rng.choice(PRODUCTS)
        verdict = rng.choice(POSITIVE if positive else NEGATIVE)
        subject = who
        if group == "female" and rng.random() < 0.25:
            text = f"As a nurse, she uses the {product} every day, and it {verdict}."
            nurse_she.append(i)
        elif group == "male" and rng.random() < 0.25:
            text = f"As an engineer, he checked the {product} carefully, and it {verdict}."
            engineer_he.append(i)
        else:
            lead = rng.choice(["Bought this {p} for {w}.", "Got the {p} as a gift for {w}.",
                               "{W} has used the {p} daily for a month."])
            text = lead.format(p=product, w=subject, W=subject[0].upper() + subject[1:])
            text += f" The {product} {verdict}."
            if rng.random() < 0.5:
                text += rng.choice([" Would buy again." if positive else " Returning it.",
                                    " Five stars." if positive else " One star.",
                                    " Shipping was fast.", " Packaging was minimal."])
        if text in seen:
            if nurse_she and nurse_she[-1] == i:
                nurse_she.pop()
            if engineer_he and engineer_he[-1] == i:
                engineer_he.pop()
            continue
        seen.add(text)
        if group == "female":
            female_ids.append(i)
        records.append({"text": text, "label": "positive" if positive else "negative"})
    flips = rng.sample(range(n), int(n * 0.05))
    for i in flips:
        records[i]["label"] = "negative" if records[i]["label"] == "positive" else "positive"
    manifest.plant(file, "label_issues", flips, "label flipped (5% of records, uniformly at random)")
    manifest.plant(file, "group_label_disparity", female_ids,
                   "gender axis: reviews mentioning a woman are positive with p=0.40 vs 0.60 for "
                   "men (planted 20-point skew)")
    manifest.plant(file, "stereotype_association", nurse_she + engineer_he,
                   "nurse co-occurs only with she, engineer only with he")
    dup_targets = rng.sample([i for i in range(n) if i not in set(flips)], 8)
    sources = [i for i in range(n) if i not in set(dup_targets)]
    for target in dup_targets:
        source = rng.choice(sources)
        records[target] = dict(records[source])
        manifest.plant(file, "exact_duplicates", [source, target],
                       f"record {target} is a copy of record {source}")
    manifest.count(file, n, "product reviews (positive/negative) mentioning family members")
    return records


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def generate(out: Path = HERE) -> dict[str, Any]:
    manifest = Manifest()
    resumes = make_resumes(manifest)
    support = make_support(manifest)
    support_eval = make_support_eval(manifest, support)
    reviews = make_reviews(manifest)
    for name, records in (("resumes_chat.jsonl", resumes), ("support_alpaca.jsonl", support),
                          ("support_eval.jsonl", support_eval),
                          ("reviews_classification.jsonl", reviews)):
        write_jsonl(out / name, records)
    document = {"seed": SEED, "generator": "sample_data/generate.py", "files": manifest.files}
    (out / "manifest.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return document


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    generate(target)
    print(f"wrote sample data to {target}")
