#!/usr/bin/env python3
"""Deterministic generator for the built-in `chat` task.

Writes train/validation/test JSONL, corpus.jsonl (the support policies) and calibration.jsonl (labelled replies for
calibrating a model judge) next to this script (standard library only, one random.Random(seed)). The company, its
policies, the customers' orders and every reply are fictional and produced by the templates below.

    python benchmarks/chat/generate.py            # seed 2024
    python benchmarks/chat/generate.py --seed 7   # another draw

Each example is a customer-support chat with Kestrelbay Home, an online homeware shop: the customer gives an order
number, the assistant looks the order up (item, price, dates, status), and the customer's last message asks for
something one policy decides (a return, a refund, a cancellation...). The reference reply quotes the order number and
applies that policy to the order's facts. The policies live only in corpus.jsonl, not in the task's instruction.
"""
from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPLITS = {"train": 160, "validation": 32, "test": 60}
CALIBRATION = {"reference": 15, "rewording": 15, "wrong-fact": 10, "policy-breach": 10, "generic": 10}
COMPANY = "Kestrelbay Home"

# The policy numbers: the corpus states them, the reference replies apply them (tests/test_chat_task.py checks both).
RETURN_DAYS, REFUND_DAYS, FREE_SHIPPING_FROM, SHIPPING_FEE = 30, 5, 50, "$4.95"
LOST_AFTER_DAYS, DAMAGE_DAYS, PRICE_PROMISE_DAYS, ESCALATION_HOURS = 7, 2, 14, 24
WARRANTY_YEARS = {"electrical": 2, "furniture": 1}

ITEMS = {  # item -> category
    "Nimbus desk lamp": "electrical", "Aero kettle": "electrical", "Pico blender": "electrical",
    "Lumen floor lamp": "electrical", "Breeze tower fan": "electrical", "Toastwell toaster": "electrical",
    "Glint bedside lamp": "electrical", "Brewmaster coffee grinder": "electrical",
    "Alder bookshelf": "furniture", "Marlow armchair": "furniture", "Fjel side table": "furniture",
    "Oakley bed frame": "furniture", "Rowan desk chair": "furniture", "Hollis dining table": "furniture",
    "Birchley shoe rack": "furniture", "Linden throw blanket": "textiles", "Cove bath towel set": "textiles",
    "Wren cushion pair": "textiles", "Moss linen duvet cover": "textiles", "Tidewater rug": "textiles",
    "Slate dinner plate set": "kitchen", "Copperline frying pan": "kitchen", "Harbor mug set": "kitchen",
    "Quarry knife block": "kitchen", "Ember cast-iron pot": "kitchen", "Fennel spice rack": "kitchen",
}
FAULTS = {"electrical": "has stopped working", "furniture": "has a faulty joint"}

POLICIES = [  # (id, title, text): the corpus
    ("policy-returns", "Returns",
     "Can I still return an item? "
     f"{COMPANY} accepts returns within {RETURN_DAYS} days of delivery, counted from the delivery date of the order. "
     "The item should be unused and in its original packaging. Within the window, the assistant emails the customer a "
     f"free prepaid return label. After {RETURN_DAYS} days an item can no longer be returned, though a faulty item may "
     "still be covered by its warranty."),
    ("policy-refunds", "Refunds",
     "When does a customer get the money back for a return? A refund is issued once the returned item reaches our "
     "warehouse. It goes back to the original payment method (bank "
     f"card or PayPal) within {REFUND_DAYS} business days. Orders paid with a {COMPANY} gift card are refunded as store "
     f"credit, also within {REFUND_DAYS} business days, never as cash."),
    ("policy-shipping", "Shipping fees",
     f"Standard delivery takes 3 to 5 business days. It is free on orders of ${FREE_SHIPPING_FROM} or more; orders under "
     f"${FREE_SHIPPING_FROM} pay a standard shipping fee of {SHIPPING_FEE}. Express next-day delivery costs $12.00 on any "
     "order."),
    ("policy-late-delivery", "Late and lost parcels",
     "Where is my order? It still hasn't come. If an order has not arrived by its estimated delivery date, check its "
     "tracking first. A parcel still missing "
     f"{LOST_AFTER_DAYS} days after its estimated delivery date is treated as lost: offer the customer a free replacement "
     f"or a full refund. Before {LOST_AFTER_DAYS} days have passed, ask the customer to allow a few more days."),
    ("policy-damaged", "Damaged deliveries",
     "A delivery that came broken, cracked or damaged in transit can be replaced. "
     f"Damage in transit must be reported within {DAMAGE_DAYS} days of delivery. Ask for a photo of the damaged item and "
     f"its packaging; we then ship a free replacement. Damage reported more than {DAMAGE_DAYS} days after delivery is not "
     "replaced for free."),
    ("policy-warranty", "Warranty",
     "An item that stops working or develops a fault may be under warranty. "
     f"Electrical items (lamps, kettles, fans, toasters, blenders, grinders) carry a {WARRANTY_YEARS['electrical']}-year "
     f"warranty. Furniture carries a {WARRANTY_YEARS['furniture']}-year warranty. Within the warranty a manufacturing "
     "fault is repaired, or the item replaced, free of charge. Once the warranty has ended the item is no longer covered. "
     "Accidental damage is never covered."),
    ("policy-cancellations", "Cancelling an order",
     "An order can be cancelled while it is still being processed; the full amount goes back to the original payment "
     f"method. Once an order has shipped it cannot be cancelled: the customer can return it within {RETURN_DAYS} days of "
     "delivery instead."),
    ("policy-escalation", "Escalation to a manager",
     "A customer who is fed up and wants to speak to a manager: when a customer asks for a manager, or complains a second time about the same order, escalate the order to the "
     f"customer care team. A specialist contacts the customer within {ESCALATION_HOURS} hours. Support assistants never "
     "offer vouchers, discounts or other compensation themselves."),
    ("policy-price-promise", "Price promise",
     "An item got cheaper or went on sale after the customer bought it? "
     f"If the price of an item drops within {PRICE_PROMISE_DAYS} days of purchase, we refund the difference once, to the "
     f"original payment method. After {PRICE_PROMISE_DAYS} days the price paid stands and no difference is refunded."),
    ("guide-replies", "How support replies are written",
     "Replies are one or two short sentences. Always quote the customer's order number. Apply the policy that fits the "
     "order's facts and say what happens next. Never promise anything the policies do not allow."),
    ("info-about", f"About {COMPANY}",
     f"{COMPANY} is a fictional online homeware shop selling lamps, kitchenware, textiles and furniture. Its warehouse "
     "ships Monday to Saturday. Customer support answers chat messages from 8:00 to 20:00 every day."),
    ("info-gift-wrapping", "Gift wrapping",
     "Gift wrapping is available at checkout for $3.50 per item. A gift note of up to 200 characters is free. Gift "
     "receipts show no prices."),
    ("info-rewards", f"{COMPANY} Rewards",
     "Rewards members earn 1 point per dollar spent. 100 points can be redeemed for $5 off a future order. Points expire "
     "after 12 months without a purchase."),
    ("info-assembly", "Assembly service",
     "A technician can assemble furniture at home for $39 per item, booked up to 7 days after delivery."),
    ("info-gift-cards", "Gift cards",
     f"{COMPANY} gift cards are sold in amounts from $10 to $200 and stay valid for 3 years. They cannot be exchanged "
     "for cash."),
]

OPENERS = ["Hi, I need some help with an order.", "Hello, I have a question about something I bought.",
           "Hi there, can you help me with an order?", "Good morning, I've got a problem with an order."]
ASK_ORDER = ["Of course! What is your order number?", "Happy to help. Could you give me your order number?",
             "Sure. Which order is it? The number is on your confirmation email."]
GIVE_ORDER = ["It's {order}.", "The order number is {order}.", "{order}, the {item}."]
OPEN_WITH_ORDER = ["Hi, this is about order {order}, the {item}.", "Hello, I'm writing about my order {order}.",
                   "Hi, my order number is {order}."]
GENERIC = [f"Thanks for contacting {COMPANY}! Is there anything else I can help you with today?",
           "I understand. Our team is always happy to help with any questions about your order.",
           "Thank you for your patience. Please let me know how else I can assist you.",
           "We appreciate your message and value you as a customer."]


def money(value: float) -> str:
    return f"${value:.2f}"


def n_days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def ago(n: int) -> str:
    return {0: "today", 1: "yesterday"}.get(n, f"{n} days ago")


def draw_price(rng: random.Random, low: int, high: int) -> float:
    return rng.randint(low, high) + rng.choice([0.0, 0.5, 0.95, 0.99])


def draw_returns(rng, outcome, f):
    f["days_since_delivery"] = rng.randint(2, RETURN_DAYS) if outcome == "eligible" else rng.randint(RETURN_DAYS + 1, 75)


def draw_refund(rng, outcome, f):
    f["method"] = rng.choice(["bank card", "PayPal"]) if outcome == "original-method" else "gift card"


def draw_shipping(rng, outcome, f):
    f["price_value"] = draw_price(rng, 51, 240) if outcome == "free" else draw_price(rng, 9, 48)
    f["price"] = money(f["price_value"])


def draw_late(rng, outcome, f):
    f["days_late"] = rng.randint(LOST_AFTER_DAYS, 15) if outcome == "lost" else rng.randint(1, LOST_AFTER_DAYS - 1)
    f["late"] = n_days(f["days_late"])


def draw_damaged(rng, outcome, f):
    days = rng.randint(0, DAMAGE_DAYS) if outcome == "replace" else rng.randint(DAMAGE_DAYS + 1, 10)
    f["days_since_delivery"], f["when"] = days, ago(days)


def draw_warranty(rng, outcome, f):
    f["category"] = ITEMS[f["item"]]
    f["years"] = WARRANTY_YEARS[f["category"]]
    months = 12 * f["years"]
    f["age_months"] = rng.randint(2, months - 1) if outcome == "covered" else rng.randint(months + 1, months + 18)
    f["fault"] = FAULTS[f["category"]]


def draw_cancel(rng, outcome, f):
    f["status"] = "processing" if outcome == "cancelled" else "shipped"
    f["status_text"] = "still being processed" if outcome == "cancelled" else "already shipped"


def draw_price_promise(rng, outcome, f):
    f["days_since_purchase"] = (rng.randint(1, PRICE_PROMISE_DAYS) if outcome == "refund-difference"
                                else rng.randint(PRICE_PROMISE_DAYS + 1, 40))
    f["bought"] = n_days(f["days_since_purchase"])
    diff = rng.randint(3, min(40, int(f["price_value"]) - 5))
    f["diff"], f["new"] = money(diff), money(f["price_value"] - diff)


# name -> the policy it applies, how its facts are drawn, the assistant's look-up turn, the customer's last messages,
# and per outcome (reference, a faithful rewording, a reply that breaks the policy). Facts fill the {fields}.
SCENARIOS = {
    "returns": dict(
        doc="policy-returns", draw=draw_returns,
        lookup="Thanks. Order {order}, the {item} ({price}), was delivered {days_since_delivery} days ago.",
        finals=["Can I still return the {item}?", "I'd like to send the {item} back. Is that possible?",
                "Is it too late to return the {item}?"],
        replies={
            "eligible": (
                "Yes: order {order} arrived {days_since_delivery} days ago, within our 30-day window, so you can return "
                "it. I'll email a free return label.",
                "You can still send the {item} back: order {order} was delivered {days_since_delivery} days ago and "
                "returns are open for 30 days. A free return label is on its way.",
                "I'm sorry, order {order} can't be returned: returns close 14 days after delivery."),
            "too-late": (
                "Sorry, order {order} arrived {days_since_delivery} days ago, past our 30-day return window, so the "
                "{item} can't be returned.",
                "Unfortunately the {item} from order {order} can't be returned now: it was delivered "
                "{days_since_delivery} days ago, and returns close after 30 days.",
                "No problem: I'll email you a free return label for the {item} from order {order}."),
        }),
    "refund": dict(
        doc="policy-refunds", draw=draw_refund,
        lookup="Thanks. We received your returned {item} from order {order} today. You paid {price} by {method}.",
        finals=["When will I get my money back for the {item}?", "How will my refund for the {item} be paid?",
                "Where will the refund for the {item} go?"],
        replies={
            "original-method": (
                "Your {price} refund for order {order} goes back to your {method} within 5 business days.",
                "The {price} for order {order} will be refunded to your {method} within 5 business days.",
                "The {price} for order {order} will be added to your account as store credit."),
            "store-credit": (
                "Order {order} was paid by gift card, so your {price} refund comes as store credit within 5 business "
                "days.",
                "Because order {order} was paid with a gift card, the {price} is refunded as store credit within 5 "
                "business days.",
                "Your {price} refund for order {order} will be paid to your bank account in cash within 5 days."),
        }),
    "shipping": dict(
        doc="policy-shipping", draw=draw_shipping,
        lookup="Thanks. Order {order} is the {item} at {price}, going by standard delivery.",
        finals=["Will I pay for shipping on the {item}?", "How much is delivery for the {item}?",
                "Is shipping free for my {item} order?"],
        replies={
            "free": (
                "Order {order} comes to {price}, so standard shipping is free: it's free on orders of $50 or more.",
                "Standard delivery costs nothing on order {order}: at {price} it is above the $50 free-shipping "
                "threshold.",
                "Standard shipping on order {order} costs $4.95 on top of the {price}."),
            "fee": (
                "Order {order} comes to {price}, under the $50 needed for free shipping, so standard shipping costs "
                "$4.95.",
                "At {price}, order {order} is below the $50 free-shipping threshold, so standard delivery is $4.95.",
                "Good news: standard shipping on order {order} is free, whatever the total."),
        }),
    "late-delivery": dict(
        doc="policy-late-delivery", draw=draw_late,
        lookup="Thanks. Order {order}, the {item}, is still in transit, {late} past its estimated delivery date.",
        finals=["My {item} still hasn't arrived. What can you do?", "Where is my {item}? It should be here by now.",
                "The {item} never came. Can you help?"],
        replies={
            "lost": (
                "Order {order} is {late} past its delivery date, so we treat it as lost: I can send a free replacement "
                "or a full refund.",
                "Since order {order} is now {late} overdue, it counts as lost, and you can choose a free replacement "
                "or a full refund.",
                "Order {order} is only a little late; please wait another two weeks before we can do anything."),
            "wait": (
                "Order {order} is {late} late; we treat a parcel as lost only after 7 days, so please allow a few more "
                "days.",
                "Order {order} is {late} behind schedule, and a parcel counts as lost only after 7 days, so please give "
                "it a few more days.",
                "Order {order} is late, so I've sent you a free replacement {item} today."),
        }),
    "damaged": dict(
        doc="policy-damaged", draw=draw_damaged,
        lookup="Thanks. Order {order}, the {item}, was delivered {when}.",
        finals=["The {item} arrived broken. What can you do?", "My {item} came damaged. Can I get a new one?",
                "The {item} was cracked when I opened the box. Can you replace it?"],
        replies={
            "replace": (
                "Sorry! Order {order} arrived {when}, so send us a photo of the damaged {item} and we'll ship a free "
                "replacement.",
                "Sorry about that. Since order {order} was delivered {when}, just send a photo of the {item} and a "
                "free replacement will follow.",
                "Damaged items from order {order} can't be replaced; you can return the {item} for a refund instead."),
            "too-late": (
                "Sorry, damage must be reported within 2 days of delivery, and order {order} arrived {when}, so we "
                "can't replace it for free.",
                "Unfortunately order {order} was delivered {when}, and damage has to be reported within 2 days, so we "
                "can't send a free replacement.",
                "No problem: send a photo of the {item} and we'll ship a free replacement for order {order}."),
        }),
    "warranty": dict(
        doc="policy-warranty", draw=draw_warranty, categories=tuple(WARRANTY_YEARS),
        lookup="Thanks. Order {order}, the {item}, was bought {age_months} months ago.",
        finals=["My {item} {fault}. Is it under warranty?", "The {item} {fault}. Will you repair it?",
                "My {item} {fault}. Is that covered?"],
        replies={
            "covered": (
                "The {item} from order {order} is {age_months} months old, within its {years}-year warranty, so we'll "
                "repair or replace it free.",
                "Order {order}'s {item} is still covered: at {age_months} months it is inside the {years}-year "
                "warranty, so the repair or replacement is free.",
                "The {item} from order {order} is covered, but a warranty repair costs a $25 fee."),
            "expired": (
                "The {item} from order {order} is {age_months} months old, past its {years}-year warranty, so it is no "
                "longer covered.",
                "Order {order}'s {item} is {age_months} months old, beyond the {years}-year warranty, so a free repair "
                "isn't possible.",
                "No problem, we'll replace the {item} from order {order} for free, warranty or not."),
        }),
    "cancel": dict(
        doc="policy-cancellations", draw=draw_cancel,
        lookup="Thanks. Order {order}, the {item} ({price}), is {status_text}.",
        finals=["Can I cancel my order for the {item}?", "I changed my mind about the {item}. Please cancel it.",
                "Please cancel the {item}, I don't need it any more."],
        replies={
            "cancelled": (
                "Done: order {order} hadn't shipped yet, so I've cancelled it, and the {price} goes back to your "
                "original payment method.",
                "I've cancelled order {order} before it shipped; the {price} will be refunded the way you paid.",
                "Order {order} can't be cancelled once it's placed; you can return the {item} after it arrives."),
            "shipped": (
                "Order {order} has already shipped, so it can't be cancelled, but you can return the {item} within 30 "
                "days of delivery.",
                "It's too late to cancel order {order}, as it has shipped; once the {item} arrives you have 30 days to "
                "return it.",
                "Done: I've cancelled order {order}, and the {price} is on its way back to you."),
        }),
    "escalation": dict(
        doc="policy-escalation", draw=lambda rng, outcome, f: None,
        lookup="Thanks. Order {order}, the {item}, has an open complaint from last week.",
        finals=["This is the second time I've complained about the {item}. I want to speak to a manager.",
                "I'm fed up with the {item} order. Put me through to a manager.",
                "Nobody has sorted out my {item}. I want a manager now."],
        replies={
            "escalate": (
                "I'm sorry. I've escalated order {order} to our customer care team, and a specialist will contact you "
                "within 24 hours.",
                "I'm sorry about this. Order {order} is now with our customer care specialists, who will get back to "
                "you within 24 hours.",
                "I'm sorry. As an apology I've added a $30 voucher to your account for order {order}."),
        }),
    "price-promise": dict(
        doc="policy-price-promise", draw=draw_price_promise,
        lookup="Thanks. Order {order}: you bought the {item} {bought} ago, for {price}.",
        finals=["The {item} is now {new}. Can I get the difference back?",
                "I just saw the {item} on sale for {new}. Can you refund the difference?",
                "The {item} dropped to {new}. Do I get anything back?"],
        replies={
            "refund-difference": (
                "Order {order} is within our 14-day price promise ({bought} ago), so we'll refund the {diff} "
                "difference.",
                "Order {order} is inside the 14-day price promise ({bought} since purchase), so the {diff} difference "
                "comes back to you.",
                "Price drops are never refunded, so order {order} stays at {price}."),
            "too-late": (
                "I'm sorry, order {order} was bought {bought} ago, past our 14-day price promise, so we can't refund the "
                "difference.",
                "Our price promise lasts 14 days, and order {order} is {bought} old, so the {diff} difference can't be "
                "refunded.",
                "Of course: we'll refund the {diff} difference on order {order} right away."),
        }),
}


def normalize(text: str) -> str:
    """As the leakage guard compares inputs (harness/tasks/leakage.py): case and punctuation do not count."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def new_order(rng: random.Random, used: set[str]) -> str:
    while (order := f"KB-{rng.randint(10000, 99999)}") in used:
        pass
    used.add(order)
    return order


def dialogue(rng: random.Random, order: str) -> dict:
    """One chat: its scenario and outcome, the order's facts, the turns before the last message, and that message."""
    name = rng.choice(sorted(SCENARIOS))
    scenario = SCENARIOS[name]
    outcome = rng.choice(sorted(scenario["replies"]))
    categories = scenario.get("categories")
    item = rng.choice([i for i, c in ITEMS.items() if categories is None or c in categories])
    facts = {"order": order, "item": item, "price_value": draw_price(rng, 20, 240)}
    facts["price"] = money(facts["price_value"])
    scenario["draw"](rng, outcome, facts)
    lookup = {"role": "assistant", "content": scenario["lookup"].format(**facts)}
    if rng.random() < 0.5:  # the customer opens, the assistant asks for the order number
        turns = [{"role": "user", "content": rng.choice(OPENERS)},
                 {"role": "assistant", "content": rng.choice(ASK_ORDER)},
                 {"role": "user", "content": rng.choice(GIVE_ORDER).format(**facts)}, lookup]
    else:  # the customer opens with the order number
        turns = [{"role": "user", "content": rng.choice(OPEN_WITH_ORDER).format(**facts)}, lookup]
    return {"scenario": name, "outcome": outcome, "facts": facts, "turns": turns,
            "input": rng.choice(scenario["finals"]).format(**facts)}


def reply(chat: dict, which: int, facts: dict | None = None) -> str:
    """The reference (0), its faithful rewording (1) or the policy-breaking reply (2), with these facts."""
    return SCENARIOS[chat["scenario"]]["replies"][chat["outcome"]][which].format(**(facts or chat["facts"]))


def draw_chat(rng: random.Random, seen: set[str], orders: set[str]) -> dict:
    """A chat whose last message is new: a repeated one (the leakage guard's test) is redrawn with the same RNG."""
    while True:
        chat = dialogue(rng, new_order(rng, orders))
        if normalize(chat["input"]) not in seen:
            seen.add(normalize(chat["input"]))
            return chat


def record(chat: dict, example_id: str) -> dict:
    return {"id": example_id, "input": chat["input"], "reference": reply(chat, 0),
            "meta": {"turns": chat["turns"], "scenario": chat["scenario"], "outcome": chat["outcome"],
                     "doc_ids": [SCENARIOS[chat["scenario"]]["doc"]], "facts": chat["facts"]}}


def conversation_text(chat: dict) -> str:
    """The dialogue as Task.conversation_text writes it: one turn per line, ending with the last customer message."""
    speaker = {"user": "Customer", "assistant": "Assistant"}
    return "\n".join([*(f"{speaker[t['role']]}: {t['content']}" for t in chat["turns"]), f"Customer: {chat['input']}"])


def candidate(rng: random.Random, chat: dict, kind: str, orders: set[str]) -> tuple[str, str]:
    """A calibration reply of this kind for the chat, and how it was made."""
    facts = chat["facts"]
    if kind == "reference":
        return reply(chat, 0), "the reference reply"
    if kind == "rewording":
        return reply(chat, 1), "a faithful rewording of the reference"
    if kind == "policy-breach":
        title = next(t for i, t, _ in POLICIES if i == SCENARIOS[chat["scenario"]]["doc"])
        return reply(chat, 2), f"breaks the {title} policy: these facts call for '{chat['outcome']}'"
    if kind == "generic":
        return rng.choice(GENERIC), "a generic reply that ignores the customer's question"
    if "{price}" in SCENARIOS[chat["scenario"]]["replies"][chat["outcome"]][0] and rng.random() < 0.5:
        wrong = money(facts["price_value"] + rng.randint(3, 30))
        return reply(chat, 0, {**facts, "price": wrong}), f"the reference with another amount ({wrong} for {facts['price']})"
    wrong = new_order(rng, orders)
    return reply(chat, 0, {**facts, "order": wrong}), f"the reference with another order number ({wrong} for {facts['order']})"


def calibration(rng: random.Random, seen: set[str], orders: set[str]) -> list[dict]:
    """Labelled replies for calibrating a judge, on chats drawn after (and apart from) the splits' chats."""
    kinds = [kind for kind, n in CALIBRATION.items() for _ in range(n)]
    rng.shuffle(kinds)
    rows = []
    for i, kind in enumerate(kinds):
        chat = draw_chat(rng, seen, orders)
        output, why = candidate(rng, chat, kind, orders)
        rows.append({"id": f"cal-{i:03d}", "input": conversation_text(chat), "output": output,
                     "reference": reply(chat, 0), "score": int(kind in ("reference", "rewording")), "why": why,
                     "meta": {"kind": kind, "scenario": chat["scenario"], "outcome": chat["outcome"]}})
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def generate(seed: int, out: Path = HERE) -> dict[str, list[dict]]:
    """Every file's rows, written under `out`: the splits, the corpus and the calibration set."""
    rng = random.Random(seed)
    seen: set[str] = set()
    orders: set[str] = set()
    files = {split: [record(draw_chat(rng, seen, orders), f"chat-{split}-{i:04d}") for i in range(1, n + 1)]
             for split, n in SPLITS.items()}
    files["corpus"] = [{"id": i, "title": t, "text": text} for i, t, text in POLICIES]
    files["calibration"] = calibration(rng, seen, orders)
    for name, rows in files.items():
        write_jsonl(out / f"{name}.jsonl", rows)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    files = generate(args.seed)
    for split in SPLITS:
        counts: dict[str, int] = {}
        for row in files[split]:
            counts[row["meta"]["scenario"]] = counts.get(row["meta"]["scenario"], 0) + 1
        print(f"{split}: {len(files[split])} chats; scenarios {dict(sorted(counts.items()))}")
    passed = sum(r["score"] for r in files["calibration"])
    print(f"corpus: {len(files['corpus'])} documents; calibration: {len(files['calibration'])} replies, {passed} pass")


if __name__ == "__main__":
    main()
