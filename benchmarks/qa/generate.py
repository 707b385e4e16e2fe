#!/usr/bin/env python3
"""Generate the built-in `qa` task: a corpus of fictional entities plus question splits.

Everything is synthetic: names are built from invented syllables and checked for
uniqueness, attributes are drawn from a seeded random.Random.  Running

    python benchmarks/qa/generate.py            # seed 4321
    python benchmarks/qa/generate.py --seed 7   # another world

rewrites corpus.jsonl, train.jsonl, validation.jsonl, test.jsonl and
unanswerable.jsonl next to this file, deterministically.  Standard library only.
"""
import argparse
import json
import random
import re
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent

N_PEOPLE, N_COMPANIES, N_TOWNS, N_ISLANDS, N_PRODUCTS = 50, 44, 30, 12, 48
N_TRAIN_1HOP, N_TRAIN_2HOP = 310, 50
N_VAL_1HOP, N_VAL_2HOP = 62, 10
N_TEST_1HOP, N_TEST_2HOP = 170, 30
N_UNANSWERABLE = 40

# ----------------------------------------------------------------------------- names
ONSETS = ["b", "br", "d", "dr", "f", "g", "gr", "h", "k", "kr", "l", "m", "n", "p",
          "pr", "r", "s", "st", "t", "th", "tr", "v", "z", "sk", "qu", "w", "y", "c", "j"]
VOWELS = ["a", "e", "i", "o", "u", "ae", "ei", "ou", "y", "io"]
CODAS = ["", "", "", "n", "r", "l", "s", "th", "rk", "nd", "sk", "m", "x", "lt"]
ENDINGS_PERSON_F = ["a", "e", "ine", "ia", "ette", "ora", "wen", "is"]
ENDINGS_PERSON_M = ["o", "an", "ius", "ek", "ard", "in", "us", "or"]
ENDINGS_SURNAME = ["ane", "ovic", "ström", "ley", "mont", "ard", "elli", "sby", "ner", "acre",
                   "wick", "anu", "ez", "quist", "ora", "enko"]
ENDINGS_TOWN = ["mouth", "ford", "wick", "haven", "by", "stead", "holm", "bridge", "dale",
                "thorpe", "mere", "field", "gate", "croft"]
ENDINGS_BRAND = ["o", "ix", "ara", "en", "on", "ette", "ius", "ova", "el", "ine"]


def _syl(rng):
    return rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS)


class NameMaker:
    """Invented, unique, pronounceable words. Collisions and banned real words are rejected."""

    BANNED = {"london", "paris", "boston", "dover", "oxford", "stanford", "milford", "bradford",
              "ashford", "salford", "stratford", "hereford", "romford", "guilford", "derby",
              "whitby", "selby", "grimsby", "nashville", "brighton", "norwich", "ipswich",
              "sandwich", "warwick", "berwick", "dartmouth", "plymouth", "exmouth", "portsmouth",
              "weymouth", "monmouth", "falmouth", "tiverton", "holm", "gate", "sony", "nokia",
              "tesla", "volvo", "saab", "fiat", "lego", "ikea", "rolex", "canon", "nikon", "sanyo",
              "burford", "bideford", "brentford", "hartford", "medford", "bedford", "telford",
              "watford", "radford", "seaford", "redbridge", "cambridge", "tonbridge", "uxbridge",
              "woodbridge", "ashby", "kirkby", "rugby", "danby", "stockholm", "bornholm", "wisbech",
              "tora", "tara", "dora", "nora", "lara", "mira", "vera", "rosa", "luna", "hugo",
              "milo", "leo", "otto", "bruno", "kira", "nina", "lena", "anna", "hannah"}

    def __init__(self, rng):
        self.rng = rng
        self.used = set()

    def word(self, endings, min_syl=1, max_syl=2):
        for _ in range(10000):
            n = self.rng.randint(min_syl, max_syl)
            w = "".join(_syl(self.rng) for _ in range(n)) + self.rng.choice(endings)
            w = re.sub(r"(.)\1\1", r"\1\1", w)
            if not (4 <= len(w) <= 11):
                continue
            if w in self.used or w in self.BANNED:
                continue
            if re.search(r"[aeiouy]{3}", w) or re.search(r"[^aeiouy]{4}", w):
                continue
            self.used.add(w)
            return w.capitalize()
        raise RuntimeError("name space exhausted")


# ----------------------------------------------------------------------------- attribute pools
PROFESSIONS = ["cartographer", "glassblower", "botanist", "violin maker", "structural engineer",
               "chemist", "architect", "clockmaker", "marine biologist", "typographer",
               "ceramicist", "astronomer", "textile designer", "beekeeper", "locksmith",
               "acoustician", "geologist", "bookbinder", "radio engineer", "perfumer"]
SECTORS = ["precision instruments", "ferry services", "textiles", "kitchenware", "optics",
           "bicycle parts", "garden tools", "musical instruments", "ceramics", "navigation equipment",
           "weather sensors", "paper goods", "lamps and lanterns", "outdoor clothing", "toys",
           "water pumps", "board games", "beverages"]
COMPANY_SUFFIXES = ["Instruments", "Works", "Foundry", "Labs", "Mills", "Trading Company",
                    "Industries", "Ceramics", "Optics", "Textiles", "Manufacturing", "Collective",
                    "Brothers", "Outfitters", "Dynamics"]
MASCOTS = ["heron", "otter", "badger", "lynx", "puffin", "tortoise", "hedgehog", "owl",
           "salamander", "walrus", "kingfisher", "moose", "fox", "crane", "beaver", "stag",
           "pelican", "marmot", "raven", "seal"]
COLOURS = ["teal", "crimson", "ochre", "violet", "amber", "cobalt blue", "sage green", "maroon",
           "saffron", "charcoal grey", "turquoise", "mustard yellow", "coral", "indigo",
           "forest green", "silver", "copper", "lilac"]
MATERIALS = ["brass", "walnut wood", "recycled aluminium", "cork", "birch plywood", "stoneware",
             "stainless steel", "bamboo", "felted wool", "bronze", "oak", "borosilicate glass",
             "pewter", "linen", "titanium", "slate"]
PRODUCT_TYPES = ["kettle", "compass", "lantern", "barometer", "bicycle bell", "sewing machine",
                 "telescope", "music box", "fountain pen", "thermos flask", "desk clock",
                 "hand mill", "rain gauge", "harmonica", "board game", "wristwatch", "backpack",
                 "tea set", "microscope", "radio"]
LANDMARKS = ["clock tower", "stone bridge", "covered market", "windmill", "observatory",
             "lighthouse", "salt museum", "botanical garden", "old tannery", "bell foundry"]
FESTIVALS = ["Lantern Festival", "Herring Fair", "Kite Week", "Apple Moot", "Ice Regatta",
             "Cheese Market", "Harp Festival", "Bonfire Night", "Tulip Parade", "Fiddle Gathering"]
SEA_WORDS = ["Sea", "Sound", "Strait", "Gulf"]
HOBBIES = ["chess", "sailing", "falconry", "rowing", "fencing", "birdwatching", "archery",
           "mountaineering", "origami", "beekeeping", "cello", "orienteering"]

PRONOUNS = {"f": ("She", "her", "her"), "m": ("He", "him", "his")}


def fmt_int(n):
    return f"{n:,}"


def int_aliases(n):
    a = [fmt_int(n)]
    if str(n) not in a:
        a.append(str(n))
    return a


# ----------------------------------------------------------------------------- world
def build_world(rng):
    nm = NameMaker(rng)
    world = {"person": [], "company": [], "town": [], "island": [], "product": []}

    def person_name(gender):
        first = nm.word(ENDINGS_PERSON_F if gender == "f" else ENDINGS_PERSON_M, 1, 2)
        last = nm.word(ENDINGS_SURNAME, 1, 2)
        return first, last

    # towns
    regions = [nm.word(["ia", "and", "ur", "esh", "ovia", "ara"], 1, 2) + " Province" for _ in range(8)]
    for _ in range(N_TOWNS):
        name = nm.word(ENDINGS_TOWN, 1, 1)
        world["town"].append({
            "kind": "town", "name": name,
            "region": rng.choice(regions),
            "population": rng.randint(1200, 98000),
            "river": "River " + nm.word(["", "e", "a", "en"], 1, 1),
            "founded": rng.randint(1100, 1850),
            "landmark": rng.choice(LANDMARKS),
            "festival": rng.choice(FESTIVALS),
            "elevation": rng.randint(3, 1400),
            "mayor": " ".join(person_name(rng.choice("fm"))),
        })
    # islands
    seas = ["the " + nm.word(["ic", "ean", "ish", "and"], 1, 2) + " " + rng.choice(SEA_WORDS) for _ in range(5)]
    for _ in range(N_ISLANDS):
        base = nm.word(["a", "ey", "ore", "ness", "ay", "oy"], 1, 2)
        name = rng.choice([f"{base} Island", f"Isle of {base}", f"{base} Island"])
        world["island"].append({
            "kind": "island", "name": name,
            "sea": rng.choice(seas),
            "area": rng.randint(4, 640),
            "population": rng.randint(40, 21000),
            "peak": "Mount " + nm.word(["", "a", "en", "or"], 1, 2),
            "peak_height": rng.randint(90, 1900),
            "charted": rng.randint(1520, 1890),
            "port": rng.choice(world["town"])["name"],  # ferries from a town (mentioned only)
            "lighthouse": nm.word(["", "e", "a"], 1, 1) + " Light",
            "export": rng.choice(["seaweed", "wool", "smoked fish", "sea salt", "peat", "honey",
                                  "kelp soap", "oysters", "lavender"]),
        })
    places = world["town"] + world["island"]
    towns = world["town"]
    # people
    for _ in range(N_PEOPLE):
        g = rng.choice("fm")
        first, last = person_name(g)
        born = rng.randint(1921, 1988)
        world["person"].append({
            "kind": "person", "name": f"{first} {last}", "first": first, "last": last,
            "gender": g, "born": born,
            "hometown": rng.choice(towns),
            "profession": rng.choice(PROFESSIONS),
            "university": rng.choice(["University of ", "Polytechnic of ", "Academy of "]) + rng.choice(towns)["name"],
            "award": f"the {nm.word(['', 'e', 'an'], 1, 2)} Medal",
            "award_year": born + rng.randint(28, 34),
            "hobby": rng.choice(HOBBIES),
        })
    people = world["person"]
    # companies: each founded by a person (who gets her/his own document)
    founders = rng.sample(people, N_COMPANIES)
    for founder in founders:
        name = nm.word(ENDINGS_BRAND, 1, 2) + " " + rng.choice(COMPANY_SUFFIXES)
        founded = min(2015, founder["born"] + rng.randint(24, 45))
        world["company"].append({
            "kind": "company", "name": name,
            "founded": founded, "founder": founder,
            "hq": rng.choice(towns),
            "ceo": " ".join(person_name(rng.choice("fm"))),
            "employees": rng.randint(35, 18000),
            "mascot": rng.choice(MASCOTS),
            "colour": rng.choice(COLOURS),
            "sector": rng.choice(SECTORS),
        })
    companies = world["company"]
    # products: made by a company, invented by a person (both have documents)
    for _ in range(N_PRODUCTS):
        maker = rng.choice(companies)
        ptype = rng.choice(PRODUCT_TYPES)
        brand = nm.word(ENDINGS_BRAND + ["a", "ar", "um"], 1, 2)
        model = rng.choice(["", "", f" {rng.randint(2, 9)}", " Mark II", " Pro", " Mini"])
        inventor = rng.choice(people)
        launched = rng.randint(max(maker["founded"] + 1, inventor["born"] + 22), max(maker["founded"] + 2, 2023))
        launched = min(launched, 2023)
        world["product"].append({
            "kind": "product", "name": f"{brand} {ptype.title()}{model}", "ptype": ptype,
            "maker": maker, "inventor": inventor, "launched": launched,
            "price": rng.randint(9, 900),
            "material": rng.choice(MATERIALS),
            "colour": rng.choice(COLOURS),
            "weight": rng.randint(60, 4800),
            "units": rng.randint(2, 400) * 1000,
        })
    _ = places
    return world


# ----------------------------------------------------------------------------- documents
FILLER = {
    "person": ["Colleagues remember {o} as patient, exacting and fond of long letters.",
               "A small archive of {p} notebooks is kept in a library in {home}.",
               "{S} rarely gave interviews and preferred to let the work speak.",
               "Several of {p} early sketches were later shown at a travelling exhibition."],
    "company": ["The firm publishes a short annual report every spring.",
                "Its workshops are known for long apprenticeships and a quiet canteen.",
                "The company has never been listed on a stock exchange.",
                "Visitors can tour the original workshop on the first Saturday of each month."],
    "town": ["The old quarter is built from a pale local stone.",
             "A weekly market fills the main square on Thursdays.",
             "Narrow lanes climb from the water towards the church.",
             "The town band has played at the same bandstand for over a century."],
    "island": ["Weather often closes the harbour for days in winter.",
               "Seabirds nest along the western cliffs every summer.",
               "There are no cars on the island apart from a single post van.",
               "Most houses are clustered around a sheltered bay."],
    "product": ["Reviewers praised its sturdy build and simple design.",
                "Spare parts are still sold by mail order.",
                "Collectors prize the first production run, which has a numbered base plate.",
                "An instruction leaflet in four languages ships in every box."],
}


def person_doc(e, rng):
    S, o, p = PRONOUNS[e["gender"]]
    s = [f"{e['name']} is a fictional {e['profession']} born in {e['born']} in the town of {e['hometown']['name']}.",
         f"{S} studied at the {e['university']} before setting up a small studio of {p} own.",
         f"In {e['award_year']} {e['first']} {e['last']} received {e['award']} for {p} work as a {e['profession']}.",
         f"Outside work, {e['last']} is a keen enthusiast of {e['hobby']}."]
    fill = [f.format(S=S, o=o, p=p, home=e["hometown"]["name"]) for f in FILLER["person"]]
    return s, fill


def company_doc(e, rng):
    f = e["founder"]
    s = [f"{e['name']} is a fictional maker of {e['sector']} founded in {e['founded']} by {f['name']}.",
         f"The company is headquartered in the town of {e['hq']['name']}, where it employs {fmt_int(e['employees'])} people.",
         f"Its current chief executive (CEO) is {e['ceo']}.",
         f"The company mascot is a {e['mascot']}, and its signature colour is {e['colour']}, used on every delivery van."]
    return s, list(FILLER["company"])


def town_doc(e, rng):
    s = [f"{e['name']} is a fictional town in {e['region']}, founded in {e['founded']}.",
         f"It has a population of {fmt_int(e['population'])} and lies at an elevation of {e['elevation']} metres.",
         f"The {e['river']} flows through the centre of {e['name']}.",
         f"Its best-known landmark is a {e['landmark']}, and every year the town holds the {e['festival']}.",
         f"The mayor of {e['name']} is {e['mayor']}."]
    return s, list(FILLER["town"])


def island_doc(e, rng):
    s = [f"{e['name']} is a fictional island in {e['sea']}, first charted in {e['charted']}.",
         f"It covers {e['area']} square kilometres and has a population of {fmt_int(e['population'])}.",
         f"The highest point on {e['name']} is {e['peak']}, at {e['peak_height']} metres.",
         f"Ferries reach the island from the port of {e['port']}, and the {e['lighthouse']} guards its northern cape.",
         f"The island's main export is {e['export']}."]
    return s, list(FILLER["island"])


def product_doc(e, rng):
    s = [f"The {e['name']} is a fictional {e['ptype']} made by {e['maker']['name']} and launched in {e['launched']}.",
         f"It was invented by {e['inventor']['name']}.",
         f"The {e['name']} is built from {e['material']}, comes in {e['colour']}, and weighs {fmt_int(e['weight'])} grams.",
         f"At launch it cost ${e['price']}, and about {fmt_int(e['units'])} units have been sold."]
    return s, list(FILLER["product"])


DOC_BUILDERS = {"person": person_doc, "company": company_doc, "town": town_doc,
                "island": island_doc, "product": product_doc}


def make_text(core, fill, rng):
    fill = fill[:]
    rng.shuffle(fill)
    k = rng.randint(1, len(fill))
    text = " ".join(core + fill[:k])
    while len(text.split()) < 60 and k < len(fill):
        k += 1
        text = " ".join(core + fill[:k])
    return text


# ----------------------------------------------------------------------------- questions
def name_aliases(full):
    return [full, full.split()[-1]]


def river_aliases(r):
    w = r.split()[-1]
    return [r, w, f"the {r}", f"{w} River"]


def one_hop_facts(e):
    """(attr, reference list, templates) for a single entity. {n} = entity name."""
    k = e["kind"]
    if k == "person":
        return [
            ("born", [str(e["born"])], ["In which year was {n} born?", "What is the birth year of {n}?",
                                         "When was {n} born?"]),
            ("hometown", [e["hometown"]["name"]], ["In which town was {n} born?", "What is the hometown of {n}?",
                                                   "Where was {n} born?"]),
            ("profession", [e["profession"]], ["What is the profession of {n}?", "What does {n} do for a living?",
                                               "What kind of work is {n} known for?"]),
            ("university", [e["university"]], ["Where did {n} study?", "Which institution did {n} attend?",
                                               "At which academy or university was {n} educated?"]),
            ("award", [e["award"], e["award"][4:]], ["Which medal did {n} receive?", "What award was given to {n}?",
                                                     "Name the medal awarded to {n}."]),
            ("award_year", [str(e["award_year"])], ["In which year did {n} receive {a}?",
                                                    "When was {n} awarded {a}?",
                                                    "What year did {n} win {a}?"]),
            ("hobby", [e["hobby"]], ["What is the hobby of {n}?", "What pastime is {n} a keen enthusiast of?",
                                     "Which pastime does {n} enjoy outside work?"]),
        ]
    if k == "company":
        return [
            ("founded", [str(e["founded"])], ["In which year was {n} founded?", "When was {n} established?",
                                              "What is the founding year of {n}?"]),
            ("founder", name_aliases(e["founder"]["name"]), ["Who founded {n}?", "Who is the founder of {n}?",
                                                             "Which person started the company {n}?"]),
            ("hq", [e["hq"]["name"]], ["Where is {n} headquartered?", "In which town is the headquarters of {n}?",
                                       "Which town is home to the head office of {n}?"]),
            ("ceo", name_aliases(e["ceo"]), ["Who is the CEO of {n}?", "Who is the chief executive of {n}?",
                                             "Who currently runs {n} as chief executive?"]),
            ("employees", int_aliases(e["employees"]), ["How many people does {n} employ?",
                                                        "How many employees does {n} have?",
                                                        "What is the number of staff at {n}?"]),
            ("mascot", [e["mascot"]], ["What animal is the mascot of {n}?", "What is the company mascot of {n}?",
                                       "Which animal does {n} use as its mascot?"]),
            ("colour", [e["colour"]], ["What is the signature colour of {n}?",
                                       "Which colour are the delivery vans of {n}?",
                                       "What colour is associated with {n}?"]),
            ("sector", [e["sector"]], ["What does {n} make?", "What kind of goods does {n} produce?",
                                       "In which line of business is {n}?"]),
        ]
    if k == "town":
        return [
            ("population", int_aliases(e["population"]), ["What is the population of {n}?",
                                                          "How many people live in {n}?",
                                                          "How many inhabitants does the town of {n} have?"]),
            ("river", river_aliases(e["river"]), ["Which river flows through {n}?",
                                                  "What river runs through the town of {n}?",
                                                  "Name the river in the centre of {n}."]),
            ("founded", [str(e["founded"])], ["In which year was the town of {n} founded?",
                                              "When was {n} founded?", "What is the founding year of {n}?"]),
            ("region", [e["region"], e["region"].split()[0]], ["In which province is {n}?",
                                                               "Which province is the town of {n} in?",
                                                               "{n} lies in which province?"]),
            ("elevation", [f"{e['elevation']} metres", str(e["elevation"])],
             ["At what elevation does {n} lie?", "How high above sea level is {n}?",
              "What is the elevation of the town of {n}?"]),
            ("festival", [e["festival"], f"the {e['festival']}"], ["Which festival does {n} hold every year?",
                                                                   "What annual festival takes place in {n}?",
                                                                   "Name the yearly festival of {n}."]),
            ("mayor", name_aliases(e["mayor"]), ["Who is the mayor of {n}?", "Who serves as mayor of {n}?",
                                                 "Name the mayor of the town of {n}."]),
        ]
    if k == "island":
        peak_w = e["peak"].split(" ", 1)[1]
        return [
            ("sea", [e["sea"], e["sea"][4:]], ["In which sea is {n}?", "Which body of water surrounds {n}?",
                                               "Where does {n} lie?"]),
            ("area", [f"{e['area']} square kilometres", str(e["area"])],
             ["How large is {n}?", "What is the area of {n}?", "How many square kilometres does {n} cover?"]),
            ("population", int_aliases(e["population"]), ["What is the population of {n}?",
                                                          "How many people live on {n}?",
                                                          "How many inhabitants does {n} have?"]),
            ("peak", [e["peak"], peak_w], ["What is the highest point on {n}?", "Which mountain is the highest on {n}?",
                                           "Name the tallest peak of {n}."]),
            ("charted", [str(e["charted"])], ["When was {n} first charted?", "In which year was {n} first charted?",
                                              "What year was {n} first mapped?"]),
            ("port", [e["port"]], ["From which port do ferries reach {n}?", "Which port has ferries to {n}?",
                                   "Where do you catch the ferry to {n}?"]),
            ("export", [e["export"]], ["What is the main export of {n}?", "What does {n} mainly export?",
                                       "Which product is the chief export of {n}?"]),
            ("lighthouse", [e["lighthouse"]], ["What is the name of the lighthouse on {n}?",
                                               "Which lighthouse guards the northern cape of {n}?",
                                               "Name the lighthouse of {n}."]),
        ]
    if k == "product":
        return [
            ("maker", [e["maker"]["name"]], ["Which company makes the {n}?", "Who manufactures the {n}?",
                                             "What company produces the {n}?"]),
            ("inventor", name_aliases(e["inventor"]["name"]), ["Who invented the {n}?", "Who is the inventor of the {n}?",
                                                               "Which person designed the {n}?"]),
            ("launched", [str(e["launched"])], ["In which year was the {n} launched?", "When did the {n} come out?",
                                                "What is the launch year of the {n}?"]),
            ("price", [f"${e['price']}", str(e["price"]), f"{e['price']} dollars"],
             ["How much did the {n} cost at launch?", "What was the launch price of the {n}?",
              "What did the {n} sell for when it was launched?"]),
            ("material", [e["material"]], ["What material is the {n} made of?", "What is the {n} built from?",
                                            "From which material is the {n} made?"]),
            ("colour", [e["colour"]], ["What colour is the {n}?", "In which colour does the {n} come?",
                                       "What is the colour of the {n}?"]),
            ("weight", [f"{fmt_int(e['weight'])} grams", *int_aliases(e["weight"])],
             ["How much does the {n} weigh?", "What is the weight of the {n}?", "How heavy is the {n} in grams?"]),
            ("units", int_aliases(e["units"]), ["How many units of the {n} have been sold?",
                                                "How many {n} units were sold?",
                                                "What are the sales of the {n} in units?"]),
        ]
    raise ValueError(k)


def two_hop_facts(world):
    """(bridge entity A, target entity B, attr, refs, templates). {n} = name of A."""
    out = []
    for c in world["company"]:
        t, f = c["hq"], c["founder"]
        out += [
            (c, t, "hq.population", int_aliases(t["population"]),
             ["What is the population of the town where {n} is headquartered?",
              "How many people live in the town that hosts the headquarters of {n}?"]),
            (c, t, "hq.river", river_aliases(t["river"]),
             ["Which river flows through the town where {n} has its headquarters?",
              "What river runs through the headquarters town of {n}?"]),
            (c, t, "hq.region", [t["region"], t["region"].split()[0]],
             ["In which province is the town where {n} is headquartered?",
              "Which province is home to the headquarters town of {n}?"]),
            (c, f, "founder.born", [str(f["born"])],
             ["In which year was the founder of {n} born?", "When was the person who founded {n} born?"]),
            (c, f, "founder.hometown", [f["hometown"]["name"]],
             ["In which town was the founder of {n} born?", "What is the hometown of the founder of {n}?"]),
            (c, f, "founder.profession", [f["profession"]],
             ["What is the profession of the person who founded {n}?",
              "What kind of work does the founder of {n} do?"]),
        ]
    for p in world["product"]:
        m, i = p["maker"], p["inventor"]
        out += [
            (p, m, "maker.founded", [str(m["founded"])],
             ["In which year was the company that makes the {n} founded?",
              "When was the manufacturer of the {n} founded?"]),
            (p, m, "maker.hq", [m["hq"]["name"]],
             ["In which town is the company that makes the {n} headquartered?",
              "Where is the manufacturer of the {n} headquartered?"]),
            (p, m, "maker.founder", name_aliases(m["founder"]["name"]),
             ["Who founded the company that makes the {n}?",
              "Who is the founder of the manufacturer of the {n}?"]),
            (p, m, "maker.mascot", [m["mascot"]],
             ["What animal is the mascot of the company that makes the {n}?",
              "Which animal is the mascot of the manufacturer of the {n}?"]),
            (p, i, "inventor.born", [str(i["born"])],
             ["In which year was the inventor of the {n} born?",
              "When was the person who invented the {n} born?"]),
            (p, i, "inventor.hometown", [i["hometown"]["name"]],
             ["In which town was the inventor of the {n} born?",
              "What is the hometown of the person who invented the {n}?"]),
        ]
    for pe in world["person"]:
        t = pe["hometown"]
        out += [
            (pe, t, "hometown.river", river_aliases(t["river"]),
             ["Which river flows through the town where {n} was born?",
              "What river runs through the hometown of {n}?"]),
            (pe, t, "hometown.population", int_aliases(t["population"]),
             ["What is the population of the town where {n} was born?",
              "How many people live in the hometown of {n}?"]),
        ]
    return out


def spread_pick(items, key, n, rng):
    """Pick n items round-robin over groups (documents) so questions cover many documents."""
    groups = defaultdict(list)
    for it in items:
        groups[key(it)].append(it)
    order = list(groups)
    rng.shuffle(order)
    for g in order:
        rng.shuffle(groups[g])
    picked = []
    while len(picked) < n:
        progressed = False
        for g in order:
            if groups[g] and len(picked) < n:
                picked.append(groups[g].pop())
                progressed = True
        if not progressed:
            raise RuntimeError("not enough items")
    return picked


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=4321)
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    world = build_world(rng)

    # documents ---------------------------------------------------------------
    entities = (world["person"] + world["company"] + world["town"] + world["island"] + world["product"])
    rng.shuffle(entities)
    docs = []
    for i, e in enumerate(entities, 1):
        core, fill = DOC_BUILDERS[e["kind"]](e, rng)
        text = make_text(core, fill, rng)
        e["doc_id"] = f"doc-{i:04d}"
        dtype = "place" if e["kind"] in ("town", "island") else e["kind"]
        meta = {"type": dtype}
        if dtype == "place":
            meta["subtype"] = e["kind"]
        docs.append({"id": e["doc_id"], "title": e["name"], "text": text, "meta": meta})
    doc_text = {d["id"]: d["text"] for d in docs}

    # one-hop questions -------------------------------------------------------
    facts = []  # (entity, attr, refs, templates)
    for e in entities:
        for attr, refs, tmpls in one_hop_facts(e):
            facts.append((e, attr, refs, tmpls))
    rng.shuffle(facts)
    n_seen_test = N_TEST_1HOP // 2
    n_seen_val = N_VAL_1HOP // 2
    n_new_test = N_TEST_1HOP - n_seen_test
    n_new_val = N_VAL_1HOP - n_seen_val
    n_train_only = N_TRAIN_1HOP - n_seen_test - n_seen_val
    need = n_seen_test + n_seen_val + n_new_test + n_new_val + n_train_only
    chosen = spread_pick(facts, lambda f: f[0]["doc_id"], need, rng)
    rng.shuffle(chosen)
    cut = [n_seen_test, n_seen_val, n_new_test, n_new_val, n_train_only]
    groups, pos = [], 0
    for c in cut:
        groups.append(chosen[pos:pos + c])
        pos += c
    seen_test, seen_val, new_test, new_val, train_only = groups

    def q_one(fact, tmpl_idx, seen):
        e, attr, refs, tmpls = fact
        q = tmpls[tmpl_idx].format(n=e["name"], a=e.get("award", ""))
        return {"input": q, "reference": refs,
                "meta": {"doc_ids": [e["doc_id"]], "hops": 1,
                         "type": "place" if e["kind"] in ("town", "island") else e["kind"],
                         "attribute": attr, "entity": e["name"], "fact_in_train": seen}}

    split_q = {"train": [], "validation": [], "test": []}
    for fact in seen_test + seen_val:
        i, j = rng.sample(range(len(fact[3])), 2)  # different wording in train and eval
        split_q["train"].append(q_one(fact, i, True))
        split_q["test" if fact in seen_test else "validation"].append(q_one(fact, j, True))
    for fact in train_only:
        split_q["train"].append(q_one(fact, rng.randrange(len(fact[3])), True))
    for fact in new_test:
        split_q["test"].append(q_one(fact, rng.randrange(len(fact[3])), False))
    for fact in new_val:
        split_q["validation"].append(q_one(fact, rng.randrange(len(fact[3])), False))

    # two-hop questions ---------------------------------------------------------
    th = two_hop_facts(world)
    rng.shuffle(th)
    th_chosen = spread_pick(th, lambda f: f[0]["doc_id"], N_TRAIN_2HOP + N_VAL_2HOP + N_TEST_2HOP, rng)
    for k, (a, b, attr, refs, tmpls) in enumerate(th_chosen):
        split = "test" if k < N_TEST_2HOP else ("validation" if k < N_TEST_2HOP + N_VAL_2HOP else "train")
        q = rng.choice(tmpls).format(n=a["name"])
        split_q[split].append({"input": q, "reference": refs,
                               "meta": {"doc_ids": [a["doc_id"], b["doc_id"]], "hops": 2,
                                        "type": "place" if a["kind"] in ("town", "island") else a["kind"],
                                        "attribute": attr, "entity": a["name"], "bridge": b["name"],
                                        "fact_in_train": False}})

    # unanswerable ------------------------------------------------------------
    nm = NameMaker(rng)
    corpus_words = set(re.findall(r"[a-zöé]+", " ".join(d["text"] + " " + d["title"] for d in docs).lower()))
    nm.used |= corpus_words
    unans_tmpl = {
        "person": ["In which year was {n} born?", "What is the profession of {n}?", "In which town was {n} born?",
                   "Which medal did {n} receive?"],
        "company": ["In which year was {n} founded?", "Who is the CEO of {n}?", "Where is {n} headquartered?",
                    "What animal is the mascot of {n}?"],
        "place": ["What is the population of {n}?", "Which river flows through {n}?",
                  "In which province is {n}?", "When was {n} founded?"],
        "product": ["Who invented the {n}?", "How much did the {n} cost at launch?",
                    "Which company makes the {n}?", "In which year was the {n} launched?"],
    }
    unans = []
    kinds = ["person", "company", "place", "product"]
    for k in range(N_UNANSWERABLE):
        kind = kinds[k % 4]
        if kind == "person":
            n = nm.word(ENDINGS_PERSON_F + ENDINGS_PERSON_M, 1, 2) + " " + nm.word(ENDINGS_SURNAME, 1, 2)
        elif kind == "company":
            n = nm.word(ENDINGS_BRAND, 1, 2) + " " + rng.choice(COMPANY_SUFFIXES)
        elif kind == "place":
            n = nm.word(ENDINGS_TOWN, 1, 1)
        else:
            n = nm.word(ENDINGS_BRAND, 1, 2) + " " + rng.choice(PRODUCT_TYPES).title()
        unans.append({"input": rng.choice(unans_tmpl[kind]).format(n=n), "reference": ["unknown"],
                      "meta": {"doc_ids": [], "answerable": False, "type": kind, "entity": n}})

    # ids, checks, write ------------------------------------------------------
    for split, qs in split_q.items():
        rng.shuffle(qs)
        prefix = {"train": "train", "validation": "val", "test": "test"}[split]
        for i, q in enumerate(qs, 1):
            q_id = f"qa-{prefix}-{i:04d}"
            split_q[split][i - 1] = {"id": q_id, **q}
    unans = [{"id": f"qa-unans-{i:04d}", **q} for i, q in enumerate(unans, 1)]

    texts = {s: {q["input"] for q in qs} for s, qs in split_q.items()}
    for s, qs in split_q.items():
        assert len(texts[s]) == len(qs), f"duplicate question text within {s}"
    assert not texts["train"] & texts["validation"], "train/validation overlap"
    assert not texts["train"] & texts["test"], "train/test overlap"
    assert not texts["validation"] & texts["test"], "validation/test overlap"
    all_texts = set().union(*texts.values())
    assert not all_texts & {q["input"] for q in unans}
    for s, qs in split_q.items():
        for q in qs:
            ans_doc = doc_text[q["meta"]["doc_ids"][-1]]
            assert q["reference"][0] in ans_doc, (s, q)
            assert q["meta"]["entity"] in doc_text[q["meta"]["doc_ids"][0]], q
            if q["meta"]["hops"] == 2:
                assert q["meta"]["bridge"] in doc_text[q["meta"]["doc_ids"][0]], q
                assert q["meta"]["entity"] not in doc_text[q["meta"]["doc_ids"][1]], q
            assert 1 <= len(q["reference"][0].split()) <= 4, q
    corpus_blob = " ".join(d["text"] + " " + d["title"] for d in docs)
    for q in unans:
        assert q["meta"]["entity"] not in corpus_blob
    titles = [d["title"] for d in docs]
    assert len(set(titles)) == len(titles)
    wc = [len(d["text"].split()) for d in docs]
    assert min(wc) >= 60 and max(wc) <= 180, (min(wc), max(wc))

    def dump(name, rows):
        with open(args.out / name, "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")

    dump("corpus.jsonl", docs)
    dump("train.jsonl", split_q["train"])
    dump("validation.jsonl", split_q["validation"])
    dump("test.jsonl", split_q["test"])
    dump("unanswerable.jsonl", unans)

    # statistics --------------------------------------------------------------
    print(f"seed {args.seed} -> {args.out}")
    by_type = Counter(d["meta"].get("subtype", d["meta"]["type"]) for d in docs)
    print(f"documents: {len(docs)}  " + ", ".join(f"{k}={v}" for k, v in sorted(by_type.items())))
    print(f"words per document: min={min(wc)} mean={sum(wc) / len(wc):.1f} max={max(wc)}")
    for s, qs in split_q.items():
        hops = Counter(q["meta"]["hops"] for q in qs)
        types = Counter(q["meta"]["type"] for q in qs)
        ndocs = len({d for q in qs for d in q["meta"]["doc_ids"]})
        seen = sum(q["meta"]["fact_in_train"] for q in qs)
        print(f"{s:<11} {len(qs):4d} questions  1-hop={hops[1]} 2-hop={hops[2]} "
              f"({100 * hops[2] / len(qs):.1f}%)  docs covered={ndocs}  fact_in_train={seen}  "
              + " ".join(f"{k}={v}" for k, v in sorted(types.items())))
    print(f"unanswerable {len(unans)} questions")
    print("checks passed: answers verbatim in their documents, question texts disjoint across splits")


if __name__ == "__main__":
    main()
