#!/usr/bin/env python3
"""Deterministic generator for the built-in `summarization` task.

Writes train/validation/test/ood JSONL files next to this script. Every
document, organisation, place and person is fictional and produced by the
templates below (standard library only, seeded with random.Random).

    python benchmarks/summarization/generate.py            # seed 1234
    python benchmarks/summarization/generate.py --seed 7   # another draw

House style of the references (what fine-tuning should learn):

    <Subject> <outcome verb phrase with the key number> <time phrase>, <context clause>.

  * exactly one sentence, 15-30 words, ending with a full stop;
  * leads with the organisation / team that the report is about and the outcome;
  * contains the key number written exactly as it appears in the document;
  * a time phrase (date, month or quarter) before the comma;
  * one short context clause after a single comma (driven by / after / as / with ...);
  * no quotation marks; no person names (except the scorer in sports reports).
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
import random

HERE = Path(__file__).resolve().parent
SPLITS = {"train": 340, "validation": 72, "test": 120, "ood": 60}

MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]
YEARS = [2022, 2023, 2024, 2025]
QUARTERS = ["first", "second", "third", "fourth"]

CITIES = ["Aldermere", "Port Merrin", "Kelbridge", "Lindenfield", "Harwick Falls",
          "Eastmoor", "Wrenfield", "Saltmarsh", "New Dunmore", "Greyhaven",
          "Fallowmere", "Brackenridge", "Ostrow Heights", "Cindervale", "Marlowe Quay",
          "Thistlebrook", "Ravensholm", "Dunfield", "Copperton", "Westbury Reach",
          "Halloway", "Kingsmere", "Oakhollow", "Stanbridge"]

PREFIXES = ["Northwind", "Bluepeak", "Harrowgate", "Calder", "Ostwick", "Larkspur",
            "Redfern", "Silverbirch", "Quillon", "Brightwater", "Marrowby", "Fenwick",
            "Corrin", "Alderbank", "Hollis", "Vantor", "Kestrel", "Emberline", "Solvane",
            "Greystone", "Millbrook", "Orrin", "Pellam", "Westmere", "Juniper", "Cobalt",
            "Ravel", "Thornbury", "Avenor", "Lumen", "Tarrow", "Bexley Moor"]

# (sector description, org suffixes, products)
SECTORS = [
    ("food manufacturer", ["Foods", "Kitchens", "Provisions"],
     ["frozen meals", "bakery products", "plant-based snacks", "breakfast cereals"]),
    ("software company", ["Software", "Systems", "Digital"],
     ["accounting software", "cloud storage service", "payroll platform", "security tools"]),
    ("furniture retailer", ["Home", "Furnishings", "Interiors"],
     ["office chairs", "kitchen furniture", "outdoor furniture", "mattresses"]),
    ("logistics firm", ["Logistics", "Freight", "Cargo"],
     ["parcel delivery service", "cold-storage service", "warehouse network", "freight forwarding"]),
    ("clothing brand", ["Apparel", "Outfitters", "Clothing"],
     ["rain jackets", "workwear range", "children's clothing", "running shoes"]),
    ("solar equipment maker", ["Solar", "Energy", "Power"],
     ["solar panels", "home batteries", "heat pumps", "inverters"]),
    ("medical device maker", ["Medical", "Health Devices", "Diagnostics"],
     ["blood pressure monitors", "hearing aids", "surgical gloves", "test kits"]),
    ("bicycle maker", ["Cycles", "Bikes", "Mobility"],
     ["electric bicycles", "cargo bikes", "folding bikes", "bike helmets"]),
]

REGIONS = ["northern Europe", "the Gulf region", "South America", "Southeast Asia",
           "Scandinavia", "the Baltic states", "West Africa", "Central America", "Canada"]

FEMALE = ["Dana", "Priya", "Amara", "Sofia", "Mei", "Fatima", "Ingrid", "Lucia", "Nadia",
          "Grace", "Hana", "Olivia", "Aisha", "Elena", "Chloe", "Yasmin", "Rosa", "Keiko",
          "Bianca", "Leila", "Maren", "Tessa"]
MALE = ["Tomas", "Rahul", "Kwame", "Daniel", "Hiro", "Omar", "Lars", "Marco", "Samuel",
        "Wei", "Andre", "Felix", "Ibrahim", "Jonah", "Mateo", "Peter", "Ravi", "Emeka",
        "Stefan", "Owen", "Hugo", "Idris"]
NEUTRAL = ["Alex", "Sam", "Jordan", "Robin", "Casey", "Rowan", "Avery", "Quinn", "Kai",
           "Morgan", "Riley", "Sasha"]
SURNAMES = ["Ortiz", "Okafor", "Lindqvist", "Haddad", "Nakamura", "Brennan", "Moreau",
            "Kowalski", "Mensah", "Patel", "Castillo", "Novak", "Fischer", "Adeyemi",
            "Larsen", "Rossi", "Chen", "Duarte", "Whitlock", "Varga", "Ibarra", "Sorensen",
            "Quayle", "Abara", "Petrov", "Harlan", "Tanaka", "Mwangi", "Delacroix", "Byrne"]

PRONOUNS = {
    "she": dict(p="she", P="She", pp="her", Pp="Her", po="her"),
    "he": dict(p="he", P="He", pp="his", Pp="His", po="him"),
    "they": dict(p="they", P="They", pp="their", Pp="Their", po="them"),
}


# --------------------------------------------------------------------------- helpers

def person(rng: random.Random, title: str, avoid: str | None = None) -> dict:
    """A fictional person; `avoid` is a surname that must not be reused (keeps name swaps unambiguous)."""
    pron = rng.choices(["she", "he", "they"], weights=[0.42, 0.42, 0.16])[0]
    if pron == "she":
        first = rng.choice(FEMALE + NEUTRAL[:3])
    elif pron == "he":
        first = rng.choice(MALE + NEUTRAL[:3])
    else:
        first = rng.choice(NEUTRAL + FEMALE[:3] + MALE[:3])
    last = rng.choice([s for s in SURNAMES if s != avoid])
    d = dict(name=f"{first} {last}", surname=last, title=title, pronoun=pron)
    d.update(PRONOUNS[pron])
    return d


def pct(rng, lo, hi, nd=1):
    return f"{rng.uniform(lo, hi):.{nd}f}%"


def money(rng, cur, lo, hi):
    return f"{cur}{rng.uniform(lo, hi):.1f} million"


def num(rng, lo, hi, step=1):
    return f"{rng.randrange(lo, hi, step):,}"


def date(rng, year=None, month=None):
    year = year or rng.choice(YEARS)
    month = month or rng.choice(MONTHS)
    return f"{rng.randint(1, 28)} {month} {year}", month, year


def org_name(rng, suffixes):
    return f"{rng.choice(PREFIXES)} {rng.choice(suffixes)}"


def pick(rng, options, **f):
    return rng.choice(options).format(**f)


def fmt(text, f):
    return text.format(**f)


def assemble(rng, lead, body, quote, pron_sent, background, closing):
    """Lead first; facts, distractors and the quote shuffled into 1-2 body paragraphs."""
    body = list(body)
    rng.shuffle(body)
    extra = list(background)
    rng.shuffle(extra)
    n_bg = rng.randint(1, min(2, len(extra)))
    mids = body + extra[:n_bg]
    rng.shuffle(mids)
    cut = rng.randint(1, max(1, len(mids) - 1))
    para1 = " ".join(mids[:cut])
    para2 = " ".join(mids[cut:])
    quote_para = f"{quote} {pron_sent}"  # the quote introduces the full name before any pronoun
    paras = [lead, para1]
    if para2:
        paras.append(para2)
    paras.insert(rng.randint(2, len(paras)), quote_para)
    if closing:
        paras.append(closing)
    return "\n\n".join(p.strip() for p in paras if p.strip())


def possessive(name):
    return name + ("'" if name.endswith("s") else "'s")


def quote_line(rng, who, org, text, text2=None):
    text = text.rstrip(".")
    forms = [
        '"{q}," said {name}, {title} of {org}.',
        '{name}, {org_pos} {title}, said: "{q}."',
        '"{q}," {name}, the {title} at {org}, told reporters.',
        '{name}, who serves as {title} of {org}, said: "{q}."',
    ]
    s = rng.choice(forms).format(name=who["name"], title=who["title"], org=org, org_pos=possessive(org), q=text)
    if text2:
        s += f' "{text2.rstrip(".")}," {who["surname"]} added.'
    return s


# --------------------------------------------------------------------------- business / civic events

def ev_company_results(rng):
    sector, suffixes, products = rng.choice(SECTORS)
    org = org_name(rng, suffixes)
    product, product2 = rng.sample(products, 2)
    city = rng.choice(CITIES)
    q = rng.choice(QUARTERS)
    year = rng.choice(YEARS)
    up = rng.random() < 0.65
    growth = pct(rng, 2, 24) if up else pct(rng, 1.5, 15)
    cur = rng.choice(["$", "£", "€"])
    rev = money(rng, cur, 12, 480)
    d, _, _ = date(rng, year=year + (1 if q == "fourth" else 0), month=rng.choice(MONTHS))
    region = rng.choice(REGIONS)
    who = person(rng, rng.choice(["chief executive", "chief financial officer", "managing director"]))
    if up:
        driver = rng.choice([f"strong demand for its {product}", f"higher sales of its {product}",
                             f"new contracts in {region}", f"record online orders for its {product}"])
    else:
        driver = rng.choice([f"weaker demand for its {product}", f"falling sales of its {product}",
                             f"the loss of a large contract in {region}", f"a slowdown in orders for its {product}"])
    f = dict(org=org, sector=sector, city=city, q=q, year=year, growth=growth, rev=rev, date=d,
             driver=driver, product=product, product2=product2, region=region,
             margin=pct(rng, 4, 22), staff=num(rng, 120, 9000, 10), prev=pct(rng, 1, 12),
             share=pct(rng, 0.5, 9), stores=num(rng, 12, 240), invest=money(rng, cur, 2, 40),
             **{k: who[k] for k in ("name", "surname", "p", "P", "pp", "Pp", "po")})
    verb = "rose" if up else "fell"
    f["verb"] = verb
    lead = pick(rng, [
        "{org}, the {city}-based {sector}, said on {date} that revenue " + verb + " {growth} to {rev} in the {q} quarter of {year}.",
        "Revenue at {org} " + ("climbed" if up else "dropped") + " {growth} to {rev} in the {q} quarter of {year}, the {sector} reported on {date}.",
        "{org} reported a {growth} " + ("increase" if up else "decline") + " in revenue for the {q} quarter of {year}, taking sales to {rev}, according to results published on {date}.",
        "Quarterly sales at {org}, a {sector} headquartered in {city}, " + verb + " {growth} to {rev} in the {q} quarter of {year}.",
    ], **f)
    body = [
        pick(rng, ["The company said the " + ("growth" if up else "fall") + " was " + ("driven by" if up else "caused by") + " {driver}.",
                   "{org} " + ("credited" if up else "blamed") + " {driver} for the " + ("increase" if up else "decline") + ".",
                   "Managers pointed to {driver} as the main reason for the result."], **f),
        pick(rng, ["Its operating margin stood at {margin} for the period.",
                   "The operating margin for the quarter was {margin}."], **f),
        pick(rng, ["In the previous quarter, revenue had grown {prev}.",
                   "A year earlier, the company had reported growth of {prev}."], **f),
        pick(rng, ["The group employs about {staff} people.",
                   "{org} has a workforce of roughly {staff} staff."], **f),
        pick(rng, ["Shares in the company moved {share} in early trading after the announcement.",
                   "The share price changed by {share} on the day of the results."], **f),
        pick(rng, ["Sales of its {product2} were broadly flat.",
                   "Demand for its {product2} was little changed over the quarter."], **f),
    ]
    quote = quote_line(rng, who, org,
                       rng.choice(["We are pleased with how the team delivered this quarter" if up else "This was a difficult quarter and we are taking action",
                                   "Our customers have responded well to our plans" if up else "We expect conditions to improve later in the year"]),
                       rng.choice([None, "We will keep investing in our core products."]))
    pron = pick(rng, ["{surname} said {p} would set out a new three-year plan at the annual meeting.",
                      "{P} added that {pp} team would spend {invest} on new equipment next year.",
                      "{surname} told analysts that {p} expected hiring to continue at a steady pace."], **f)
    background = [fmt(s, f) for s in [
        "{org} was founded in {city} and sells its products in several countries.",
        "The company opened a new distribution centre in {region} last year.",
        "Analysts had expected a smaller change in revenue.",
        "The full-year results are due to be published early next year.",
    ]]
    closing = pick(rng, ["The company will publish its next results in three months.",
                         "{org} did not change its guidance for the full year.", ""], **f)
    if up:
        ref = f"{org} grew revenue {growth} to {rev} in the {q} quarter of {year}, driven by {driver}."
    else:
        ref = f"{org} saw revenue fall {growth} to {rev} in the {q} quarter of {year}, hit by {driver}."
    return dict(domain="business", event_type="company_results", org=org, key_number=growth,
                who=who, ref=ref, doc=assemble(rng, lead, body, quote, pron, background, closing))


MANUFACTURERS = [s for s in SECTORS if s[0].endswith(("manufacturer", "maker", "brand"))]


def ev_factory_opening(rng):
    sector, suffixes, products = rng.choice(MANUFACTURERS)
    org = org_name(rng, suffixes)
    product = rng.choice(products)
    city, hq = rng.sample(CITIES, 2)
    d, month, year = date(rng)
    cur = rng.choice(["$", "£", "€"])
    jobs = num(rng, 80, 1200, 10)
    invest = money(rng, cur, 8, 260)
    who = person(rng, rng.choice(["chief executive", "operations director", "plant manager"]))
    f = dict(org=org, sector=sector, city=city, hq=hq, date=d, jobs=jobs, invest=invest, product=product,
             area=num(rng, 8, 90) + ",000 square metres", units=num(rng, 20, 900, 5) + ",000",
             sites=rng.choice(["two", "three", "four", "five", "six"]), grant=money(rng, cur, 0.5, 6),
             apprentices=num(rng, 8, 60), year=year, month=month,
             **{k: who[k] for k in ("name", "surname", "p", "P", "pp", "Pp", "po")})
    lead = pick(rng, [
        "{org} opened a new {product} plant in {city} on {date}, a move the {sector} says will create {jobs} jobs.",
        "A {invest} factory built by {org} to make {product} opened in {city} on {date}, bringing {jobs} jobs to the area.",
        "{org}, the {sector} based in {hq}, officially opened its {product} plant in {city} on {date} and expects to employ {jobs} people there.",
    ], **f)
    body = [
        pick(rng, ["The plant cost {invest} to build.", "{org} invested {invest} in the site.",
                   "The project represents an investment of {invest}."], **f),
        pick(rng, ["The factory covers {area}.", "The building has a floor area of {area}."], **f),
        pick(rng, ["It is expected to produce {units} units a year at full capacity.",
                   "At full capacity the line will turn out {units} units annually."], **f),
        pick(rng, ["The company already runs {sites} other sites.", "{org} operates {sites} other plants."], **f),
        pick(rng, ["The regional development agency contributed a grant of {grant}.",
                   "A {grant} grant from the regional authority helped fund the project."], **f),
        pick(rng, ["Around {apprentices} of the new roles are apprenticeships.",
                   "The firm said {apprentices} apprentices would start in the first year."], **f),
    ]
    quote = quote_line(rng, who, org,
                       rng.choice([f"This plant puts {city} at the heart of our plans",
                                   "We chose this site because of the skilled workforce nearby",
                                   "Opening this factory is a milestone for the whole company"]),
                       rng.choice([None, "We want to be a good neighbour here."]))
    pron = pick(rng, ["{surname} said {p} hoped to add a second production line within two years.",
                      "{P} said {pp} team had recruited most of the first shift from the local area.",
                      "{surname} said {p} had visited the site every month during construction."], **f)
    background = [fmt(s, f) for s in [
        "Construction began eighteen months ago on a former industrial site.",
        "Local officials welcomed the investment at a ceremony attended by staff and residents.",
        "{city} has lost several manufacturing employers over the past decade.",
        "The site is close to the main rail freight terminal.",
    ]]
    closing = pick(rng, ["Full production is due to start later this year.", "Recruitment for the remaining roles is under way.", ""], **f)
    ref = f"{org} opened a {product} plant in {city} on {d} that will create {jobs} jobs, backed by an investment of {invest}."
    return dict(domain="business", event_type="factory_opening", org=org, key_number=jobs,
                who=who, ref=ref, doc=assemble(rng, lead, body, quote, pron, background, closing))


COUNCIL_DECISIONS = [
    ("approved {n} new affordable homes", "{n} new affordable homes", (120, 900, 10), "", "to ease a local housing shortage"),
    ("approved {n} km of protected cycle lanes", "{n} km of protected cycle lanes", (6, 45, 1), "", "to make commuting by bike safer"),
    ("approved a {cur}{n} million library renovation", "a {cur}{n} million library renovation", (3, 30, 1), "money", "to modernise the central library"),
    ("approved {n} new electric vehicle charging points", "{n} new electric vehicle charging points", (40, 600, 10), "", "to support the switch to electric cars"),
    ("approved a {cur}{n} million flood defence scheme", "a {cur}{n} million flood defence scheme", (5, 60, 1), "money", "to protect homes along the river"),
    ("approved planting {n} street trees", "planting {n} street trees", (500, 8000, 100), "", "to cool neighbourhoods during summer heat"),
]


def ev_council_decision(rng):
    city = rng.choice(CITIES)
    council = f"{city} City Council" if rng.random() < 0.6 else f"{city} Borough Council"
    d, month, year = date(rng)
    verb_phrase, noun_phrase, (lo, hi, st), kind, purpose = rng.choice(COUNCIL_DECISIONS)
    cur = rng.choice(["$", "£", "€"])
    n = f"{rng.randrange(lo, hi, st):,}"
    key = f"{cur}{n} million" if kind == "money" else n
    yes = rng.randint(6, 14)
    no = rng.randint(1, yes - 2)
    who = person(rng, rng.choice(["council leader", "mayor", "deputy mayor"]))
    f = dict(council=council, city=city, date=d, what=verb_phrase.format(n=n, cur=cur),
             noun=noun_phrase.format(n=n, cur=cur), purpose=purpose, yes=yes, no=no,
             cost=money(rng, cur, 0.2, 3), years=rng.choice(["three", "four", "five"]),
             residents=num(rng, 200, 5000, 10), pop=num(rng, 40, 600) + ",000",
             abstain=rng.randint(1, 3), year=year,
             **{k: who[k] for k in ("name", "surname", "p", "P", "pp", "Pp", "po", "title")})
    lead = pick(rng, [
        "{council} {what} on {date}, in a vote of {yes} to {no}.",
        "Councillors in {city} {what} on {date}, {purpose}.",
        "On {date}, {council} {what} after a long debate in the council chamber.",
    ], **f)
    body = [
        pick(rng, ["The measure passed by {yes} votes to {no}, with {abstain} abstentions.",
                   "Members voted {yes} to {no} in favour, while {abstain} abstained."], **f),
        pick(rng, ["Officials said the plan was designed {purpose}.", "Supporters said the decision was needed {purpose}."], **f),
        pick(rng, ["The work will be spread over {years} years.", "The programme is due to be completed within {years} years."], **f),
        pick(rng, ["A public consultation drew responses from {residents} residents.",
                   "{residents} residents took part in a consultation before the vote."], **f),
        pick(rng, ["The city has a population of about {pop}.", "{city} is home to roughly {pop} people."], **f),
        pick(rng, ["Opposition members argued the annual running costs of {cost} were too high.",
                   "Critics warned that a yearly maintenance budget of {cost} had not been secured."], **f),
    ]
    quote = quote_line(rng, who, council,
                       rng.choice(["This is a decision the city will benefit from for decades",
                                   "Residents asked us to act, and tonight we did",
                                   "We listened carefully to every objection before voting"]),
                       rng.choice([None, "Now the hard work of delivery begins."]))
    pron = pick(rng, ["{surname} said {p} would publish a detailed timetable next month.",
                      "{P} said {pp} office would report on progress to councillors every quarter.",
                      "{surname} said {p} had met residents' groups several times before the vote."], **f)
    background = [fmt(s, f) for s in [
        "The proposal was first discussed by a council committee last year.",
        "Several residents spoke during the public session before the vote.",
        "Local businesses had lobbied both for and against the plan.",
        "The council faces a tight budget after several years of rising costs.",
    ]]
    closing = pick(rng, ["Work is expected to begin next spring.", "The council will review the plan again in a year.", ""], **f)
    ref = f"{council} {f['what']} on {d}, in a {yes} to {no} vote {purpose}."
    return dict(domain="civic", event_type="council_decision", org=council, key_number=key,
                who=who, ref=ref, doc=assemble(rng, lead, body, quote, pron, background, closing))


def ev_hospital_programme(rng):
    city = rng.choice(CITIES)
    hosp = rng.choice([f"{city} General Hospital", f"{city} Royal Infirmary", f"{rng.choice(PREFIXES)} Memorial Hospital",
                       f"St {rng.choice(['Agnes', 'Brendan', 'Clare', 'Mungo', 'Ida', 'Lorcan'])}'s Hospital"])
    d, month, year = date(rng)
    measure = rng.choice([
        ("average emergency waiting times", "{v} hours", lambda r: f"{r.uniform(1.5, 5.5):.1f}", lambda r: f"{r.uniform(5.6, 9.5):.1f} hours"),
        ("the average wait for routine surgery", "{v} weeks", lambda r: f"{r.randint(6, 20)}", lambda r: f"{r.randint(21, 40)} weeks"),
        ("the average wait for a scan", "{v} days", lambda r: f"{r.randint(3, 12)}", lambda r: f"{r.randint(14, 35)} days"),
    ])
    mname, unit, newv, oldv = measure
    key = unit.format(v=newv(rng))
    old = oldv(rng)
    prog = rng.choice([
        ("hiring {n} extra nurses", (20, 120)), ("opening {n} new treatment bays", (8, 40)),
        ("adding {n} evening clinics a week", (4, 20)), ("training {n} staff in a new triage system", (40, 300)),
    ])
    prog_phrase = prog[0].format(n=rng.randint(*prog[1]))
    cur = rng.choice(["$", "£", "€"])
    who = person(rng, rng.choice(["medical director", "chief executive", "head of nursing"]))
    f = dict(hosp=hosp, city=city, date=d, month=month, year=year, mname=mname, key=key, old=old,
             prog=prog_phrase, cost=money(rng, cur, 1, 18), beds=num(rng, 200, 1400, 10),
             patients=num(rng, 20, 160) + ",000", sat=pct(rng, 60, 95, 0), staff=num(rng, 900, 7000, 50),
             **{k: who[k] for k in ("name", "surname", "p", "P", "pp", "Pp", "po", "title")})
    lead = pick(rng, [
        "{hosp} has cut {mname} to {key}, according to figures released on {date}.",
        "Figures published on {date} show {mname} at {hosp} have fallen to {key}, down from {old} a year earlier.",
        "A programme at {hosp} has brought {mname} down to {key}, the hospital said on {date}.",
    ], **f)
    body = [
        pick(rng, ["The improvement followed {prog}.", "The hospital credited the change to {prog}.",
                   "Managers said the key step was {prog}."], **f),
        pick(rng, ["A year earlier the figure stood at {old}.", "Twelve months ago, the wait was {old}."], **f),
        pick(rng, ["The programme cost {cost} over two years.", "The scheme was funded with {cost} from the regional health budget."], **f),
        pick(rng, ["The hospital has {beds} beds.", "{hosp} runs {beds} beds across two sites."], **f),
        pick(rng, ["It treated about {patients} emergency patients last year.", "Around {patients} people passed through its emergency department last year."], **f),
        pick(rng, ["Patient satisfaction scores reached {sat} in the latest survey.", "A patient survey recorded satisfaction of {sat}."], **f),
    ]
    quote = quote_line(rng, who, hosp,
                       rng.choice(["Patients are being seen faster, and that matters enormously",
                                   "Our staff have worked incredibly hard to make this happen",
                                   "There is more to do, but the trend is clear"]),
                       rng.choice([None, "We will not stop here."]))
    pron = pick(rng, ["{surname} said {p} wanted to extend the approach to outpatient clinics.",
                      "{P} said {pp} priority for next year was reducing delays in discharging patients.",
                      "{surname} said {p} would share the results with other hospitals in the region."], **f)
    background = [fmt(s, f) for s in [
        "{hosp} employs around {staff} staff.",
        "Hospitals across the region have faced record demand in recent winters.",
        "The national target for the measure has not been met in several years.",
        "A new wing at the hospital is due to open next year.",
    ]]
    closing = pick(rng, ["The hospital will publish updated figures every quarter.", ""], **f)
    ref = f"{hosp} cut {mname} to {key} by {month} {year}, after {prog_phrase}."
    return dict(domain="health", event_type="hospital_programme", org=hosp, key_number=key,
                who=who, ref=ref, doc=assemble(rng, lead, body, quote, pron, background, closing))


def ev_transport_change(rng):
    city = rng.choice(CITIES)
    mi, year = rng.randrange(12), rng.choice(YEARS)
    month = MONTHS[mi]
    d, _, _ = date(rng, year=year + (mi == 11), month=MONTHS[(mi + 1) % 12])
    op = rng.choice([f"{rng.choice(PREFIXES)} Rail", f"{city} Transit", f"{rng.choice(PREFIXES)} Buses",
                     f"{city} Metro", f"{rng.choice(PREFIXES)} Trams"])
    mode = "trains" if "Rail" in op or "Metro" in op else ("trams" if "Trams" in op else "buses")
    variant = rng.choice(["delays", "ridership", "ontime"])
    adj = {"trains": "train", "trams": "tram", "buses": "bus"}[mode]
    cause = rng.choice([
        ("replacing {n} signals across its network", (40, 300)), ("adding {n} new {mode} to its fleet", (12, 90)),
        ("introducing {n} new express routes across {city}", (3, 15)), ("redesigning {n} timetables around peak demand", (10, 60)),
        ("hiring {n} extra drivers", (25, 160)),
    ])
    cause_phrase = cause[0].format(n=rng.randint(*cause[1]), mode=mode, city=city)
    if variant == "delays":
        key = pct(rng, 1.5, 7.5)
        what_doc = f"the share of delayed {mode} fell to {key}"
        ref_out = f"cut {adj} delays to {key}"
    elif variant == "ridership":
        key = pct(rng, 3, 28)
        what_doc = f"passenger numbers rose {key}"
        ref_out = f"increased passenger numbers by {key}"
    else:
        key = pct(rng, 88, 99)
        what_doc = f"the on-time rate for {mode} reached {key}"
        ref_out = f"raised the on-time rate of its {mode} to {key}"
    cur = rng.choice(["$", "£", "€"])
    who = person(rng, rng.choice(["operations director", "chief executive", "network manager"]))
    f = dict(op=op, city=city, mode=mode, date=d, month=month, year=year, what=what_doc, key=key,
             cause=cause_phrase, fare=f"{cur}{rng.uniform(1.2, 4.8):.2f}", stops=num(rng, 80, 900, 5),
             riders=num(rng, 20, 400) + ",000", cost=money(rng, cur, 4, 120), prev=pct(rng, 2, 12),
             routes=rng.randint(8, 60),
             **{k: who[k] for k in ("name", "surname", "p", "P", "pp", "Pp", "po", "title")})
    lead = pick(rng, [
        "{op} said on {date} that {what} in {month} {year}, after {cause}.",
        "In {month} {year}, {what} on the network run by {op}, figures released on {date} showed.",
        "Passengers in {city} are seeing a better service: {op} reported that {what} in {month} {year}.",
    ], **f)
    body = [
        pick(rng, ["The operator said the change came after {cause}.", "{op} linked the improvement to {cause}.",
                   "Managers credited {cause} for the result."], **f),
        pick(rng, ["A standard single fare costs {fare}.", "The basic adult fare remains {fare}."], **f),
        pick(rng, ["The network serves {stops} stops across {routes} routes.", "{op} runs {routes} routes with {stops} stops."], **f),
        pick(rng, ["About {riders} people use the network on a typical weekday.", "Weekday journeys average around {riders}."], **f),
        pick(rng, ["The upgrade programme cost {cost}.", "Investment in the network totalled {cost}."], **f),
        pick(rng, ["In the same month last year, the comparable figure changed by {prev}.",
                   "A year earlier the operator had reported a change of {prev}."], **f),
    ]
    quote = quote_line(rng, who, op,
                       rng.choice(["Passengers told us reliability was their top priority",
                                   "These numbers show the investment is paying off",
                                   "We know there is still work to do on the busiest routes"]),
                       rng.choice([None, "Our crews deserve the credit."]))
    pron = pick(rng, ["{surname} said {p} planned further changes to evening services later in the year.",
                      "{P} said {pp} team would publish performance data every month.",
                      "{surname} said {p} expected the figures to improve further once work is finished."], **f)
    background = [fmt(s, f) for s in [
        "{op} has faced criticism over crowding at peak times.",
        "Regional transport authorities monitor the operator's performance.",
        "Engineering work on two lines is planned for the summer.",
        "A passenger group said it welcomed the figures but wanted cheaper fares.",
    ]]
    closing = pick(rng, ["The operator will publish next month's figures in four weeks.", ""], **f)
    ref = f"{op} {ref_out} in {month} {year}, after {cause_phrase}."
    return dict(domain="transport", event_type="transport_change", org=op, key_number=key,
                who=who, ref=ref, doc=assemble(rng, lead, body, quote, pron, background, closing))


def ev_school_results(rng):
    city = rng.choice(CITIES)
    school = rng.choice([f"{city} Academy", f"{rng.choice(PREFIXES)} High School", f"{city} Grammar School",
                         f"{rng.choice(PREFIXES)} Secondary School", f"{city} Community College"])
    d, month, year = date(rng, month=rng.choice(["July", "August", "September"]))
    key = pct(rng, 62, 98, 0)
    old = pct(rng, 40, 61, 0)
    prog = rng.choice(["introducing daily small-group tutoring", "extending the school day by 30 minutes",
                       "launching a weekend revision programme", "hiring specialist maths teachers",
                       "giving every pupil a personal learning mentor", "starting a reading recovery scheme"])
    who = person(rng, rng.choice(["head teacher", "principal", "head of school"]))
    f = dict(school=school, city=city, date=d, year=year, key=key, old=old, prog=prog,
             pupils=num(rng, 400, 1800, 10), avg=pct(rng, 55, 80, 0), top=pct(rng, 8, 35, 0),
             teachers=num(rng, 30, 140), att=pct(rng, 88, 97, 1), subj=rng.choice(["maths", "science", "English", "history"]),
             **{k: who[k] for k in ("name", "surname", "p", "P", "pp", "Pp", "po", "title")})
    lead = pick(rng, [
        "{school} raised its exam pass rate to {key} this year, up from {old}, according to results published on {date}.",
        "Results released on {date} show {key} of pupils at {school} passed their final exams in {year}.",
        "The pass rate at {school} in {city} climbed to {key} in {year}, the school announced on {date}.",
    ], **f)
    body = [
        pick(rng, ["The school attributed the rise to {prog}.", "Staff said the key change was {prog}.",
                   "The improvement came after {prog}."], **f),
        pick(rng, ["Last year the pass rate was {old}.", "Twelve months earlier, {old} of pupils passed."], **f),
        pick(rng, ["The regional average pass rate was {avg}.", "Across the region, {avg} of pupils passed."], **f),
        pick(rng, ["The school has {pupils} pupils and {teachers} teachers.", "{school} teaches {pupils} pupils."], **f),
        pick(rng, ["Around {top} of grades were awarded at the highest level.", "The share of top grades reached {top}."], **f),
        pick(rng, ["Attendance over the year averaged {att}.", "Pupil attendance stood at {att}."], **f),
    ]
    quote = quote_line(rng, who, school,
                       rng.choice(["Our pupils have worked incredibly hard for these results",
                                   "This is a result the whole community can be proud of",
                                   "The teachers changed how they work, and it shows"]),
                       rng.choice([None, "We want every pupil to leave with options."]))
    pron = pick(rng, ["{surname} said {p} would keep the programme running next year.",
                      "{P} said {pp} next goal was to improve results in {subj}.",
                      "{surname} said {p} had written to every family to thank them."], **f)
    background = [fmt(s, f) for s in [
        "Inspectors rated the school as needing improvement three years ago.",
        "The school moved into a new building in {city} two years ago.",
        "Parents' groups had campaigned for more support for struggling pupils.",
        "The local education authority said it would study the approach.",
    ]]
    closing = pick(rng, ["Enrolment for next year opens in the autumn.", ""], **f)
    ref = f"{school} raised its exam pass rate to {key} in {year}, up from {old} after {prog}."
    return dict(domain="education", event_type="school_results", org=school, key_number=key,
                who=who, ref=ref, doc=assemble(rng, lead, body, quote, pron, background, closing))


def ev_acquisition(rng):
    (sector, suffixes, products), = rng.sample(SECTORS, 1)
    org = org_name(rng, suffixes)
    target = org_name(rng, suffixes)
    while target.split()[0] == org.split()[0]:
        target = org_name(rng, suffixes)
    product = rng.choice(products)
    region = rng.choice(REGIONS)
    d, month, year = date(rng)
    cur = rng.choice(["$", "£", "€"])
    price = money(rng, cur, 25, 900)
    who = person(rng, rng.choice(["chief executive", "chair", "president"]))
    f = dict(org=org, target=target, sector=sector, product=product, region=region, date=d, price=price,
             rev=money(rng, cur, 5, 200), staff=num(rng, 60, 2500, 10), prem=pct(rng, 8, 40, 0),
             stake=pct(rng, 51, 100, 0), city=rng.choice(CITIES), month=month, year=year,
             **{k: who[k] for k in ("name", "surname", "p", "P", "pp", "Pp", "po", "title")})
    f["stake"] = "100%"
    lead = pick(rng, [
        "{org} has agreed to buy {target} for {price}, the {sector} announced on {date}.",
        "On {date}, {org} said it would acquire rival {target} in a deal worth {price}.",
        "{org}, the {city}-based {sector}, agreed on {date} to take over {target} for {price}, expanding its {product} business in {region}.",
    ], **f)
    body = [
        pick(rng, ["The deal will expand its {product} business in {region}.", "The purchase gives {org} a bigger presence in {region}, where {target} sells {product}."], **f),
        pick(rng, ["{target} reported annual revenue of {rev} last year.", "{target} had sales of {rev} in its last financial year."], **f),
        pick(rng, ["{target} employs {staff} people.", "The business has {staff} employees."], **f),
        pick(rng, ["The offer represents a premium of {prem} to its last valuation.", "The price is {prem} above an earlier valuation."], **f),
        pick(rng, ["The deal is expected to close by the end of {year}, subject to regulatory approval.",
                   "Regulators must approve the transaction before it completes."], **f),
        pick(rng, ["{org} will fund the purchase from cash and new borrowing.", "The buyer said it would pay in cash."], **f),
    ]
    quote = quote_line(rng, who, org,
                       rng.choice([f"{target} is a great fit for our business",
                                   "Together we can offer customers much more",
                                   "This deal speeds up our growth plans by several years"]),
                       rng.choice([None, "We intend to keep the brand."]))
    pron = pick(rng, ["{surname} said {p} expected no job losses as a result of the deal.",
                      "{P} said {pp} team had been in talks with {target} for several months.",
                      "{surname} said {p} would join the board of the combined group."], **f)
    background = [fmt(s, f) for s in [
        "Consolidation has been common in the sector over the past two years.",
        "{target} was founded fifteen years ago by two engineers.",
        "Advisers to both companies declined to comment on the talks.",
        "{org} completed a smaller acquisition last year.",
    ]]
    closing = pick(rng, ["Shareholders will vote on the deal next month.", ""], **f)
    ref = f"{org} agreed to buy {target} for {price} on {d}, expanding its {product} business in {region}."
    return dict(domain="business", event_type="acquisition", org=org, key_number=price,
                who=who, ref=ref, doc=assemble(rng, lead, body, quote, pron, background, closing))


def ev_job_cuts(rng):
    sector, suffixes, products = rng.choice(SECTORS)
    org = org_name(rng, suffixes)
    product = rng.choice(products)
    d, month, year = date(rng)
    cuts = num(rng, 60, 1500, 10)
    reason = rng.choice([f"it closes {rng.choice(['two', 'three', 'four'])} warehouses",
                         f"weaker demand for its {product} hits sales",
                         "it moves more work to automated lines",
                         f"it merges its offices in {rng.choice(CITIES)} and {rng.choice(CITIES)}"])
    cur = rng.choice(["$", "£", "€"])
    who = person(rng, rng.choice(["chief executive", "managing director", "chief operating officer"]))
    f = dict(org=org, sector=sector, product=product, date=d, cuts=cuts, reason=reason, year=year,
             staff=num(rng, 1600, 12000, 100), saving=money(rng, cur, 5, 90), cost=money(rng, cur, 2, 30),
             share=pct(rng, 1, 10), city=rng.choice(CITIES), stores=num(rng, 10, 120),
             **{k: who[k] for k in ("name", "surname", "p", "P", "pp", "Pp", "po", "title")})
    lead = pick(rng, [
        "{org} will cut {cuts} jobs by the end of {year}, the {sector} said on {date}.",
        "The {sector} {org} announced on {date} that {cuts} jobs will go by the end of {year}.",
        "About {cuts} roles at {org} will be eliminated by the end of {year} as {reason}, the company said on {date}.",
    ], **f)
    body = [
        pick(rng, ["The company said the cuts were needed as {reason}.", "{org} said the move comes as {reason}."], **f),
        pick(rng, ["It currently employs {staff} people.", "The workforce stands at about {staff}."], **f),
        pick(rng, ["The plan is expected to save {saving} a year.", "Management expects annual savings of {saving}."], **f),
        pick(rng, ["Restructuring costs are put at {cost}.", "The one-off cost of the changes will be {cost}."], **f),
        pick(rng, ["Shares fell {share} after the announcement.", "The stock moved {share} lower on the news."], **f),
        pick(rng, ["Unions said they would seek talks with management.", "Staff representatives called for voluntary redundancies first."], **f),
    ]
    quote = quote_line(rng, who, org,
                       rng.choice(["These are difficult decisions and we do not take them lightly",
                                   "We must adapt to protect the long-term future of the business",
                                   "We will support every colleague affected"]),
                       rng.choice([None, "We will talk to staff before anything else."]))
    pron = pick(rng, ["{surname} said {p} would meet union representatives next week.",
                      "{P} said {pp} aim was to find new roles for as many staff as possible.",
                      "{surname} said {p} would take a pay cut this year."], **f)
    background = [fmt(s, f) for s in [
        "{org} is headquartered in {city}.",
        "Several rivals have announced similar cuts this year.",
        "The company expanded rapidly over the previous three years.",
        "Local politicians said they were disappointed by the news.",
    ]]
    closing = pick(rng, ["A consultation period with staff starts next month.", ""], **f)
    ref = f"{org} will cut {cuts} jobs by the end of {year}, as {reason}."
    return dict(domain="business", event_type="job_cuts", org=org, key_number=cuts,
                who=who, ref=ref, doc=assemble(rng, lead, body, quote, pron, background, closing))


# --------------------------------------------------------------------------- out-of-distribution events

TEAM_SUFFIX = ["Rovers", "United", "Athletic", "Wanderers", "City", "Rangers", "Harriers", "Albion"]
SPECIES = ["grey-winged tern nests", "flowering marsh orchids", "adult spotted salamanders",
           "pale sea lion pups", "mature dwarf willow shrubs", "ringed plover breeding pairs",
           "blue shore crab burrows", "lichen moth larvae", "otter holts", "nesting sea turtles"]


def ev_sports_match(rng):
    home, away = rng.sample(CITIES, 2)
    s1, s2 = rng.sample(TEAM_SUFFIX, 2)
    t1, t2 = f"{home} {s1}", f"{away} {s2}"
    d, month, year = date(rng)
    g1 = rng.randint(2, 5)
    g2 = rng.randint(0, g1 - 1)
    score = f"{g1}-{g2}"
    who = person(rng, rng.choice(["striker", "midfielder", "winger", "captain"]))
    goals = rng.choice(["twice", "two goals"]) if g1 >= 2 and rng.random() < 0.6 else "the winning goal"
    stadium = f"{rng.choice(PREFIXES)} Park"
    f = dict(t1=t1, t2=t2, date=d, score=score, stadium=stadium, crowd=num(rng, 3, 45) + "," + f"{rng.randint(0, 999):03d}",
             minute=rng.randint(55, 89), shots=rng.randint(8, 24), poss=pct(rng, 45, 70, 0),
             pos=rng.randint(1, 8), pts=rng.randint(20, 70), ref=person(rng, "referee", avoid=who["surname"])["name"],
             **{k: who[k] for k in ("name", "surname", "p", "P", "pp", "Pp", "po", "title")})
    f["goals"] = "scored twice" if goals != "the winning goal" else "scored the winning goal"
    lead = pick(rng, [
        "{t1} beat {t2} {score} at {stadium} on {date}, and {title} {name} {goals}.",
        "{name} {goals} as {t1} defeated {t2} {score} in front of a crowd of {crowd} at {stadium} on {date}.",
        "On {date}, {t1} won {score} against {t2} at {stadium}, helped by {title} {name}.",
    ], **f)
    body = [
        pick(rng, ["{name} {goals} for the home side.", "The {title}, {name}, {goals}."], **f),
        pick(rng, ["The attendance was {crowd}.", "A crowd of {crowd} watched the match."], **f),
        pick(rng, ["{t2} had a late chance in the {minute}th minute but the shot went wide.",
                   "A header from {t2} hit the post in the {minute}th minute."], **f),
        pick(rng, ["{t1} had {shots} shots and {poss} of possession.", "The home side enjoyed {poss} possession and managed {shots} attempts."], **f),
        pick(rng, ["The result lifts {t1} to position {pos} in the table with {pts} points.",
                   "{t1} now sit in position {pos} with {pts} points."], **f),
        pick(rng, ["The referee, {ref}, showed three yellow cards.", "{ref} refereed the match and booked four players."], **f),
    ]
    coach = person(rng, "head coach", avoid=who["surname"])
    quote = quote_line(rng, coach, t1,
                       rng.choice(["The players showed real character today", f"{who['surname']} was outstanding from start to finish",
                                   "We defended well and took our chances"]),
                       rng.choice([None, "Now we move on to the next game."]))
    pron = pick(rng, ["{surname} said afterwards that {p} had worked hard on finishing in training.",
                      "{surname} said {p} had dedicated the win to the fans who travelled.",
                      "{surname} said {p} had been glad that {pp} family were in the crowd to watch {po}."], **f)
    background = [fmt(s, f) for s in [
        "The two sides had drawn their previous meeting earlier in the season.",
        "Heavy rain before kick-off left the pitch heavy.",
        "{t2} were without two injured defenders.",
        "Tickets for the fixture sold out within a week.",
    ]]
    closing = pick(rng, ["{t1} play away next weekend.", ""], **f)
    scorer = "two goals" if goals != "the winning goal" else "the winning goal"
    ref = f"{t1} beat {t2} {score} at {stadium} on {d}, with {who['name']} scoring {scorer}."
    return dict(domain="sports", event_type="sports_match", org=t1, key_number=score,
                who=who, ref=ref, doc=assemble(rng, lead, body, quote, pron, background, closing))


def ev_field_expedition(rng):
    inst = rng.choice([f"{rng.choice(PREFIXES)} Institute of Ecology", f"University of {rng.choice(CITIES)}",
                       f"{rng.choice(PREFIXES)} Natural History Society", f"{rng.choice(CITIES)} Field Station"])
    place = rng.choice(["Skerra Island", "the Vell Marshes", "Mount Orrick", "the Caddow Estuary",
                        "the Harl Plateau", "Lunden Fen", "the Sable Dunes", "Greyholm Bay"])
    species = rng.choice(SPECIES)
    month, year = rng.choice(MONTHS), rng.choice(YEARS)
    n = num(rng, 20, 2400)
    days = rng.randint(5, 30)
    who = person(rng, rng.choice(["lead scientist", "expedition leader", "field ecologist"]))
    f = dict(inst=inst, place=place, species=species, month=month, year=year, n=n,
             days=days, volunteers=rng.randint(4, 30), prev=num(rng, 10, 2000), temp=rng.randint(3, 31),
             km=rng.randint(6, 80), plots=rng.randint(10, 120), tags=rng.randint(5, 90),
             **{k: who[k] for k in ("name", "surname", "p", "P", "pp", "Pp", "po", "title")})
    lead = pick(rng, [
        "A team from the {inst} counted {n} {species} at {place} in {month} {year} during a {days}-day survey.",
        "Researchers from the {inst} recorded {n} {species} during a {days}-day survey of {place} in {month} {year}.",
        "In {month} {year}, a {days}-day expedition to {place} run by the {inst} found {n} {species}.",
    ], **f)
    body = [
        pick(rng, ["The previous survey, ten years ago, counted {prev}.", "A count in the same area a decade earlier found {prev}."], **f),
        pick(rng, ["The team walked {km} km of transects and sampled {plots} plots.", "Surveyors covered {km} km and checked {plots} plots."], **f),
        pick(rng, ["Temperatures ranged up to {temp} degrees during fieldwork.", "Daytime temperatures reached {temp} degrees."], **f),
        pick(rng, ["{volunteers} volunteers helped with the work.", "The group included {volunteers} volunteers."], **f),
        pick(rng, ["Researchers fitted {tags} small tracking tags.", "The team attached {tags} identification tags."], **f),
        pick(rng, ["Samples will be analysed at the institute's laboratory.", "Soil and water samples were also collected."], **f),
    ]
    quote = quote_line(rng, who, inst,
                       rng.choice(["The numbers were higher than any of us expected",
                                   "This site is more important than we realised",
                                   "Long-term counts like this are the only way to see real change"]),
                       rng.choice([None, "We hope to return next season."]))
    pron = pick(rng, ["{surname} said {p} would publish the full data set next year.",
                      "{P} said {pp} team had worked through several days of storms.",
                      "{surname} said {p} wanted to repeat the survey every two years."], **f)
    background = [fmt(s, f) for s in [
        "{place} can only be reached by boat or on foot.",
        "The area has been protected since the 1990s.",
        "Funding for the survey came from a conservation charity.",
        "Local guides helped the team find safe camping sites.",
    ]]
    closing = pick(rng, ["A report will be presented to the regional wildlife authority.", ""], **f)
    ref = f"The {inst} counted {n} {species} at {place} in {month} {year}, during a {days}-day survey."
    if inst.startswith("University"):
        ref = ref[len("The "):]
        ref = ref[0].upper() + ref[1:]
    return dict(domain="science", event_type="field_expedition", org=inst, key_number=n,
                who=who, ref=ref, doc=assemble(rng, lead, body, quote, pron, background, closing))


IN_DOMAIN = [ev_company_results, ev_factory_opening, ev_council_decision, ev_hospital_programme,
             ev_transport_change, ev_school_results, ev_acquisition, ev_job_cuts]
OOD = [ev_sports_match, ev_field_expedition]

NUM_RE = re.compile(r"[$£€]?\d[\d,.]*%?(?: million)?")


def check(ex) -> list[str]:
    """Return a list of problems with a generated example (empty = OK)."""
    probs = []
    doc, ref = ex["doc"], ex["ref"]
    nw = len(doc.split())
    if not 80 <= nw <= 300:
        probs.append(f"doc words {nw}")
    rw = len(ref.split())
    if not 15 <= rw <= 30:
        probs.append(f"ref words {rw}: {ref}")
    if '"' in ref or not ref.endswith(".") or ref.count(". ") > 0:
        probs.append("ref style")
    if ex["key_number"] not in ref or ex["key_number"] not in doc:
        probs.append("key number missing")
    if not ref.startswith(ex["org"]) and not ref.startswith("The " + ex["org"]):
        probs.append("ref does not lead with org")
    for tok in NUM_RE.findall(ref):
        tok = tok.rstrip(".,")
        if tok not in doc:
            probs.append(f"unsupported number {tok}")
    return probs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    seen_docs: set[str] = set()
    data: dict[str, list[dict]] = {}
    for split, n in SPLITS.items():
        builders = OOD if split == "ood" else IN_DOMAIN
        rows = []
        i = 0
        tries = 0
        while len(rows) < n:
            tries += 1
            assert tries < 50 * n, f"generator keeps failing checks for split {split}"
            builder = builders[i % len(builders)]  # balanced event types
            ex = builder(rng)
            if check(ex) or ex["doc"] in seen_docs:
                continue  # deterministic retry
            i += 1
            seen_docs.add(ex["doc"])
            who = ex["who"]
            rows.append({
                "id": f"sum-{split}-{len(rows) + 1:04d}",
                "input": ex["doc"],
                "reference": ex["ref"],
                "meta": {
                    "domain": ex["domain"],
                    "event_type": ex["event_type"],
                    "org": ex["org"],
                    "key_number": ex["key_number"],
                    "group_terms": {"name": who["name"], "surname": who["surname"], "pronoun": who["pronoun"],
                                    "possessive": who["pp"], "object": who["po"]},
                    "doc_words": len(ex["doc"].split()),
                    "ref_words": len(ex["ref"].split()),
                },
            })
        rng.shuffle(rows)
        for k, r in enumerate(rows, 1):
            r["id"] = f"sum-{split}-{k:04d}"
        data[split] = rows

    # leakage / uniqueness checks
    ids = [r["id"] for rows in data.values() for r in rows]
    assert len(ids) == len(set(ids)), "duplicate ids"
    train_docs = {r["input"] for r in data["train"]}
    train_refs = {r["reference"] for r in data["train"]}
    for split in ("validation", "test", "ood"):
        for r in data[split]:
            assert r["input"] not in train_docs, f"{split} document leaks into train: {r['id']}"
            assert r["reference"] not in train_refs, f"{split} reference duplicates a train reference: {r['id']}"
    all_docs = [r["input"] for rows in data.values() for r in rows]
    assert len(all_docs) == len(set(all_docs)), "duplicate documents across splits"

    for split, rows in data.items():
        path = args.out / f"{split}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")

    print(f"seed={args.seed}")
    print(f"{'split':<11}{'n':>5}{'doc_min':>9}{'doc_max':>9}{'doc_mean':>10}{'ref_min':>9}{'ref_max':>9}{'ref_mean':>10}  domains")
    for split, rows in data.items():
        dw = [r["meta"]["doc_words"] for r in rows]
        rw = [r["meta"]["ref_words"] for r in rows]
        doms = {}
        for r in rows:
            doms[r["meta"]["domain"]] = doms.get(r["meta"]["domain"], 0) + 1
        print(f"{split:<11}{len(rows):>5}{min(dw):>9}{max(dw):>9}{sum(dw) / len(dw):>10.1f}"
              f"{min(rw):>9}{max(rw):>9}{sum(rw) / len(rw):>10.1f}  {doms}")
    pron = {}
    for rows in data.values():
        for r in rows:
            p = r["meta"]["group_terms"]["pronoun"]
            pron[p] = pron.get(p, 0) + 1
    print("pronouns:", pron)


if __name__ == "__main__":
    main()
