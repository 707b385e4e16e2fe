#!/usr/bin/env python3
"""Deterministic generator for the built-in `preference` task.

Writes train/validation/test JSONL files next to this script (standard library only, one random.Random(seed)).
Every venue, number and reply is fictional and produced by the templates below.

    python benchmarks/preference/generate.py            # seed 1234
    python benchmarks/preference/generate.py --seed 7   # another draw

A customer asks the Harbor Help Desk a question about a fictional venue; the input lists four facts, one of which
answers it. The preferred reply (`chosen`, also the `reference`) follows the desk's house style, which a
deterministic scorer checks (metric `house_style` in harness/measure/metrics.py):

  1. the answer comes first, in ONE sentence of at most 20 words that holds the fact's number exactly;
  2. nothing else follows but the sign-off line;
  3. the last line is the sign-off `— Harbor Help Desk`.

Every training and validation example also has a `rejected` reply: a plausible reply that breaks the style (pleasantries first,
several sentences, no or another sign-off) or gives a distractor's number.
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPLITS = {"train": 200, "validation": 40, "test": 100}
SIGN_OFF = "— Harbor Help Desk"

PREFIXES = ["Larkspur", "Emberline", "Calder", "Ostwick", "Redfern", "Silverbirch", "Quillon", "Brightwater",
            "Marrowby", "Fenwick", "Alderbank", "Kestrel", "Solvane", "Greystone", "Millbrook", "Pellam", "Juniper",
            "Cobalt", "Thornbury", "Avenor", "Tarrow", "Halloway", "Kingsmere", "Oakhollow"]
VENUES = ["Library", "Museum", "Swimming Pool", "Ferry Terminal", "Community Centre", "Art Gallery", "Sports Hall",
          "Botanic Garden", "Science Centre", "Concert Hall"]
DAYS = ["Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays"]

# kind: (fact sentence, question, answer sentence, value drawer). {v} venue, {d} day, {x} the number.
FACTS = {
    "opens": ("The {v} opens at {x} on {d}.", "What time does the {v} open on {d}?",
              "The {v} opens at {x} on {d}.", lambda r: f"{r.randint(6, 11)}:{r.choice(['00', '15', '30', '45'])}"),
    "closes": ("On {d} the {v} closes at {x}.", "When does the {v} close on {d}?",
               "The {v} closes at {x} on {d}.", lambda r: f"{r.randint(16, 22)}:{r.choice(['00', '30'])}"),
    "ticket": ("An adult ticket for the {v} costs ${x}.", "How much is an adult ticket for the {v}?",
               "An adult ticket for the {v} costs ${x}.", lambda r: f"{r.randint(4, 29)}.{r.choice(['00', '50', '75'])}"),
    "parking": ("The {v} car park has {x} spaces.", "How many parking spaces does the {v} have?",
                "The {v} car park has {x} spaces.", lambda r: str(r.randrange(40, 900, 5))),
    "notice": ("Group visits to the {v} must be booked {x} days ahead.", "How far ahead must a group book the {v}?",
               "Groups must book the {v} {x} days ahead.", lambda r: str(r.randint(2, 30))),
    "lost": ("Lost property at the {v} is kept for {x} days.", "How long does the {v} keep lost property?",
             "The {v} keeps lost property for {x} days.", lambda r: str(r.choice([7, 14, 21, 28, 30, 45, 60, 90]))),
    "floor": ("The help point of the {v} is on floor {x}.", "Which floor is the {v} help point on?",
              "The {v} help point is on floor {x}.", lambda r: str(r.randint(1, 9))),
    "lockers": ("There are {x} lockers at the {v}.", "How many lockers does the {v} have?",
                "The {v} has {x} lockers.", lambda r: str(r.randrange(12, 400, 2))),
}

OPENERS = ["Thank you so much for reaching out to us!", "Great question, and thanks for getting in touch.",
           "Hello there, and thank you for your message.", "We are always happy to help our visitors!"]
RESTATES = ["You asked: {q}", "Regarding your question about the {v},", "I looked into this for you."]
CLOSERS = ["Let us know if there is anything else we can do.", "We hope this helps and look forward to your visit!",
           "Feel free to contact us again with any other questions."]
OTHER_SIGN_OFFS = ["Best wishes, the team", "Kind regards", "Cheers!"]


def example(rng: random.Random, idx: int, split: str) -> dict:
    venue = f"{rng.choice(PREFIXES)} {rng.choice(VENUES)}"
    kinds = rng.sample(sorted(FACTS), 4)
    day = rng.choice(DAYS)
    values = {k: FACTS[k][3](rng) for k in kinds}
    asked = kinds[0]
    facts = [FACTS[k][0].format(v=venue, d=day, x=values[k]) for k in kinds]
    rng.shuffle(facts)
    question = FACTS[asked][1].format(v=venue, d=day)
    answer = FACTS[asked][2].format(v=venue, d=day, x=values[asked])
    chosen = f"{answer}\n{SIGN_OFF}"
    text = "Facts:\n" + "\n".join(f"- {f}" for f in facts) + f"\n\nQuestion: {question}"
    style = rng.choice(["chatty", "buried", "no-sign-off", "wrong-number"])
    if style == "chatty":  # pleasantries first, the answer later, another sign-off
        rejected = f"{rng.choice(OPENERS)} {answer} {rng.choice(CLOSERS)}\n{rng.choice(OTHER_SIGN_OFFS)}"
    elif style == "buried":  # restates the question, several sentences, no sign-off
        rejected = f"{rng.choice(RESTATES).format(q=question, v=venue)} {rng.choice(CLOSERS)} {answer}"
    elif style == "no-sign-off":  # the answer first, but no sign-off
        rejected = f"{answer} {rng.choice(CLOSERS)}"
    else:  # the house style, with a distractor's number
        wrong = FACTS[asked][3](rng)
        while wrong == values[asked]:
            wrong = FACTS[asked][3](rng)
        rejected = f"{FACTS[asked][2].format(v=venue, d=day, x=wrong)}\n{SIGN_OFF}"
    record = {"id": f"pref-{split}-{idx:04d}", "input": text, "reference": chosen,
              "meta": {"venue": venue, "asked": asked, "answer": values[asked], "rejected_style": style}}
    if split != "test":  # training and validation pairs (DPO's validation loss); the test split has references only
        record["chosen"], record["rejected"] = chosen, rejected
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    seen: set[str] = set()
    for split, n in SPLITS.items():
        rows = []
        while len(rows) < n:
            rec = example(rng, len(rows) + 1, split)
            if rec["input"] in seen:  # a repeated input is redrawn with the same RNG: still deterministic
                continue
            seen.add(rec["input"])
            rows.append(rec)
        (HERE / f"{split}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                            encoding="utf-8")
        styles = {s: sum(r["meta"]["rejected_style"] == s for r in rows) for s in ("chatty", "buried", "no-sign-off",
                                                                                     "wrong-number")}
        print(f"{split}: {len(rows)} examples; rejected styles {styles}")


if __name__ == "__main__":
    main()
