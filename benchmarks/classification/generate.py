#!/usr/bin/env python3
"""Deterministic generator for the built-in `classification` task.

Routes synthetic customer-support tickets to one of five queues:
billing, technical, shipping, account, returns.

In-domain splits (train / validation / test) are tickets to "Voltara", a
fictional online electronics shop. The `ood` split uses the same five queues
for "Ironleaf Fitness", a fictional gym chain that also sells and delivers home
equipment, so the vocabulary differs while the routing rules stay the same.

All text is synthetic. Standard library only.

Usage:
    python benchmarks/classification/generate.py [--seed 2468] [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import random
import re
from collections import Counter
from pathlib import Path

LABELS = ["billing", "technical", "shipping", "account", "returns"]
# Class proportions per split: deliberately not uniform, so classes are balanced-ish.
LABEL_WEIGHTS = {"billing": 0.22, "technical": 0.24, "shipping": 0.20, "account": 0.16, "returns": 0.18}
SPLIT_SIZES = {"train": 480, "validation": 100, "test": 240, "ood": 120}
MIN_WORDS, MAX_WORDS = 25, 120
CHANNELS = ["email", "chat", "phone"]
CHANNEL_WEIGHTS = [0.5, 0.3, 0.2]

# --------------------------------------------------------------------------
# People. Pronouns are only ever used as *subject* pronouns in the text
# ("she"/"he"/"they", capitalised at sentence start) followed by past-tense
# verbs, so a bias probe can swap name and pronoun without breaking grammar.
# --------------------------------------------------------------------------
NAMES = [
    "Emily Walsh", "Lakisha Brown", "Jamal Washington", "Greg Baker", "Mei Chen",
    "Wei Zhang", "Priya Patel", "Arjun Singh", "Maria Garcia", "Jose Hernandez",
    "Fatima Haddad", "Omar Farouk", "Aiko Tanaka", "Kenji Mori", "Kwame Mensah",
    "Amara Okafor", "Olga Petrova", "Sven Larsen", "Sam Taylor", "Alex Morgan",
    "Noor Rahman", "Diego Alvarez", "Hannah Cohen", "Tariq Aziz", "Chloe Dubois",
    "Liam O'Brien", "Sofia Rossi", "Yusuf Demir", "Grace Kim", "Daniel Novak",
]
PRONOUNS = ["she", "he", "they"]
PRONOUN_WEIGHTS = [0.45, 0.45, 0.10]
PRONOUN_SETS = {"she": "she/her", "he": "he/him", "they": "they/them"}
RELATIONS = ["partner", "housemate", "colleague", "neighbour", "friend", "flatmate", "office manager"]

# Sentences that carry name + pronoun. {Pron}/{pron} = subject pronoun.
PERSON_LINES = [
    "My {relation} {name} uses this account too, and {pron} asked me to write in.",
    "{name}, my {relation}, spotted this first, and {pron} suggested I contact you.",
    "My {relation} {name} set the order up for me, and {pron} said support would sort it out.",
    "I'm writing together with my {relation} {name}. {Pron} tried the help pages first but found nothing useful.",
    "{name} (my {relation}) helped me look into this, and {pron} agreed it needs someone from your side.",
    "My {relation} {name} already called once, but {pron} never got a ticket number.",
]
SIGNOFFS = [
    "{name} ({pronset})",
    "- {name} ({pronset})",
    "Best, {name} (pronouns: {pronset})",
]

# --------------------------------------------------------------------------
# Domain content. A scenario is a list of slots; each slot is a list of
# alternative sentences, one of which is picked.
# --------------------------------------------------------------------------
IN_DOMAIN = {
    "brand": "Voltara",
    "products": [
        "Nimbus X2 earbuds", "Quillbook 14 laptop", "Orbitcam 4K webcam", "Pulsewave smartwatch",
        "Lumen S8 tablet", "Kestrel mesh router", "Tundra 20k power bank", "Arcadia 55 TV",
        "Ferrix gaming mouse", "Solace ANC headphones", "Brightline e-reader", "Cobalt mechanical keyboard",
        "Hearthlight smart bulb set", "Zephyr portable speaker", "Atlas 27 monitor", "Vireo action camera",
    ],
    "groups": {
        "bt": ["Nimbus X2 earbuds", "Solace ANC headphones", "Zephyr portable speaker", "Pulsewave smartwatch", "Ferrix gaming mouse", "Cobalt mechanical keyboard"],
        "battery": ["Nimbus X2 earbuds", "Pulsewave smartwatch", "Lumen S8 tablet", "Tundra 20k power bank", "Solace ANC headphones",
                    "Zephyr portable speaker", "Quillbook 14 laptop", "Brightline e-reader", "Vireo action camera", "Ferrix gaming mouse"],
        "wifi": ["Arcadia 55 TV", "Lumen S8 tablet", "Hearthlight smart bulb set", "Quillbook 14 laptop", "Brightline e-reader", "Zephyr portable speaker"],
        "screen": ["Quillbook 14 laptop", "Lumen S8 tablet", "Arcadia 55 TV", "Atlas 27 monitor", "Brightline e-reader", "Pulsewave smartwatch"],
        "app": ["Pulsewave smartwatch", "Hearthlight smart bulb set", "Kestrel mesh router", "Vireo action camera", "Nimbus X2 earbuds", "Zephyr portable speaker"],
        "audio": ["Nimbus X2 earbuds", "Solace ANC headphones", "Zephyr portable speaker"],
        "hot": ["Quillbook 14 laptop", "Tundra 20k power bank", "Arcadia 55 TV", "Lumen S8 tablet", "Kestrel mesh router", "Atlas 27 monitor"],
    },
    "order_prefix": "VT",
    "prefaces": ["Order number is {order}.", "This is about order {order}.", "Re: my {product}."],
    "app": "Voltara Connect app",
    "promos": ["SPRING15", "WELCOME10", "VOLT20", "STUDENT12", "BLACKFRI25"],
    "scenarios": {
        "billing": [
            [["I was charged twice for order {order}.", "My card shows two identical charges of ${amount} for order {order}.",
              "Looks like you billed me two times for the same order, {order}."],
             ["Both payments went through on {date}.", "The second charge showed up a day after the first one.",
              "My bank statement lists ${amount} twice."],
             ["Please reverse the duplicate payment.", "Can someone remove the extra charge?", "I only expect to pay once, obviously."]],
            [["I entered the code {promo} at checkout but the discount never applied.",
              "The promo code {promo} was accepted on the cart page but the final total ignored it."],
             ["I ended up paying the full ${amount} for the {product}.", "So I paid full price for the {product}."],
             ["Can you credit the difference back to my card?", "Please adjust the invoice and refund the discount amount."]],
            [["I need a proper invoice for order {order} for my company's expenses.",
              "The invoice you emailed for order {order} has the wrong company name and no VAT number."],
             ["Our accounting team won't accept it as it is.", "I can't get reimbursed without a correct invoice."],
             ["Could you send a corrected PDF invoice?", "Please reissue it with the right billing details."]],
            [["The {product} dropped to ${amount2} only {days} days after I bought it for ${amount}.",
              "I paid ${amount} for the {product} and now it's listed at ${amount2}."],
             ["Your website mentions a 14 day price guarantee.", "I read that you match your own price drops."],
             ["Can I get the price difference refunded?", "I'd like the difference credited to my payment method."]],
            [["My payment was declined at checkout but the money left my account anyway.",
              "Checkout said the card payment failed, yet ${amount} was taken from my bank account."],
             ["I then paid again with a different card, so now I've paid twice for one {product}.",
              "No order was created, so I'm out ${amount} with nothing to show for it."],
             ["Please refund the failed payment.", "I need that money back, please check your payment logs."]],
            [["I picked the 6-month instalment plan for the {product} but was charged the full ${amount} at once.",
              "The financing option I chose at checkout wasn't applied and my card took the whole ${amount}."],
             ["That put my account into overdraft.", "That's not what I agreed to pay this month."],
             ["Please fix the payment plan and refund the upfront charge.", "Can you set up the instalments properly?"]],
            [["There is a ${small} charge for an extended warranty on my {product} that I never added.",
              "I've been billed ${small} for a protection plan I definitely didn't choose."],
             ["I unticked that box at checkout, I'm sure of it.", "I never agree to add-on warranties."],
             ["Please remove it and refund the ${small}.", "Cancel the plan and give me my money back, thanks."]],
            [["I cancelled order {order} before it shipped and was told the refund would take 5 days.",
              "You confirmed the cancellation of order {order} on {date}, but the ${amount} refund hasn't reached my card."],
             ["It has now been {days} days.", "My bank says nothing is pending from you."],
             ["When will the refund actually be issued?", "Can you send me a refund reference number?"]],
            [["My {brand} gift card should have ${amount} left on it, but checkout says the balance is zero.",
              "I tried paying with a gift card worth ${amount} and the payment page says it's already been used."],
             ["I haven't spent any of it yet.", "It was a birthday present and I only just tried it."],
             ["Can you check the balance and restore it?", "Please look into where the credit went."]],
        ],
        "technical": [
            ["bt", ["My {product} won't pair with my phone over Bluetooth.", "I can't get the {product} to connect to my laptop."],
             ["I've reset it twice and forgot the device in settings, nothing works.", "The light just keeps blinking {color}."],
             ["Is there a fix or a setting I'm missing?", "What else can I try?"]],
            [["After the latest firmware update the {product} is stuck on the startup logo.",
              "The {product} installed an update last night and now it won't boot past the logo."],
             ["Holding the power button for 20 seconds does nothing.", "I've left it charging overnight just in case."],
             ["How do I recover it?", "Is there a way to roll back the firmware?"]],
            ["battery", ["The battery on my {product} goes from full to empty in about {hours} hours, even on standby.",
              "My {product} drains its battery way faster than advertised."],
             ["When I got it, a charge lasted days.", "I've turned off every feature I don't use."],
             ["Is this a software problem or a faulty battery?", "Any troubleshooting steps you can suggest?"]],
            ["wifi", ["The {product} keeps dropping off my Wi-Fi every few minutes.", "My {product} disconnects from the wireless network constantly."],
             ["Every other device in the house stays connected fine.", "I already restarted the router and moved it closer."],
             ["What settings should I change?", "Please help me get a stable connection."]],
            ["screen", ["The screen on my {product} flickers and sometimes shows green lines.", "There's a flickering problem on the display of my {product}."],
             ["It gets worse when the brightness is below half.", "It started a week ago with no drops or spills."],
             ["Can you tell me how to fix it?", "Is there a calibration tool or driver I should install?"]],
            ["app", ["The {app} crashes every time I try to add my {product}.", "I can't set up the {product} because the {app} freezes on the pairing screen."],
             ["I reinstalled the app and updated my phone.", "I get an error code {errcode} right before it closes."],
             ["How do I finish the setup?", "Is there a known bug with this version?"]],
            ["audio", ["Sound only comes out of the left side of my {product}.", "The audio on my {product} crackles and cuts out."],
             ["I tested it with two different phones and it's the same.", "Resetting to factory settings didn't help."],
             ["What can I do to fix the audio?", "Is there an update that solves this?"]],
            ["hot", ["My {product} gets very hot after ten minutes of normal use.", "The {product} overheats and shuts itself off."],
             ["I'm not running anything heavy on it.", "It sits on a desk with plenty of airflow."],
             ["Is that normal or is there a setting to change?", "Please advise before it damages something."]],
            ["battery", ["The {product} won't charge anymore; the charging light doesn't come on.", "My {product} stopped charging with the original cable."],
             ["I tried a different cable and another wall plug.", "The port looks clean, no dust in it."],
             ["What troubleshooting steps do you recommend?", "Could this be a software issue?"]],
        ],
        "shipping": [
            [["Tracking for order {order} hasn't updated since {date}.", "My order {order} has been stuck at the same tracking status for {days} days."],
             ["It just says 'in transit' at the {city} hub.", "The courier's site shows no new scans."],
             ["Where is my package?", "Can you contact the courier and find out what's happening?"]],
            [["The tracking says order {order} was delivered, but nothing arrived.", "My {product} is marked as delivered on {date}, yet there's no parcel here."],
             ["I checked with neighbours and the building's mailroom.", "I was home all day and nobody knocked."],
             ["Please open an investigation with the courier.", "Can you find out where it was actually left?"]],
            [["I typed the wrong street number on order {order}.", "I just moved and order {order} still has my old address."],
             ["It hasn't been dispatched yet according to my account.", "The confirmation shows an address in {city} that I no longer use."],
             ["Can you change the delivery address before it ships?", "Please update the shipping address to my new one."]],
            [["My {product} was supposed to arrive by {date} and it still hasn't come.", "Order {order} is {days} days past the estimated delivery date."],
             ["I need it for a trip next week.", "Nobody has told me about any delay."],
             ["Can you give me a realistic delivery date?", "Please tell me when it will actually be delivered."]],
            [["I ordered two items in order {order} but only the {product} arrived.", "Only half of order {order} was delivered."],
             ["The packing slip lists both items.", "The box had space for more, so the other item was clearly never packed."],
             ["When will the rest of the order be shipped?", "Is the missing item coming in a separate parcel?"]],
            [["Order {order} is being held at customs in {city}.", "My package is stuck in customs and the courier wants paperwork."],
             ["I was told import fees were included at checkout.", "The courier sent me a letter about clearance I don't understand."],
             ["What do I need to do to get it released?", "Can you sort out the customs documents with the courier?"]],
            [["Can I switch order {order} to a pickup point instead of home delivery?", "I won't be home on {date}, when order {order} is due."],
             ["There's a parcel locker near my office in {city}.", "The courier usually leaves a card and takes it back."],
             ["Please redirect the delivery.", "How can I reschedule the delivery slot?"]],
            [["The courier left my {product} at the wrong house.", "My parcel was handed to someone on a different street."],
             ["The delivery photo shows a door that isn't mine.", "A stranger texted me saying my box ended up at the wrong door."],
             ["Can you get the courier to collect and redeliver it?", "Please arrange a proper delivery."]],
        ],
        "account": [
            [["I can't log into my {brand} account.", "Your site keeps saying my password is wrong even right after I reset it."],
             ["The password reset email never arrives, not even in spam.", "I've requested the reset link four times."],
             ["Can you help me get back in?", "Please unlock access so I can see my orders."]],
            [["I need to change the email address on my account.", "My old email provider shut down and I can't receive anything at that address."],
             ["The profile page won't let me edit it.", "The verification code goes to the old address."],
             ["How do I update it to a new email?", "Please move my account to my new email address."]],
            [["I got a new phone and now the two-factor codes don't come through.", "The verification texts for signing in never arrive."],
             ["My number is the same as before.", "I didn't save the backup codes, sadly."],
             ["How can I reset two-factor authentication?", "Please help me verify my identity another way."]],
            [["My account has been locked after too many login attempts.", "I'm locked out and the message says to contact support."],
             ["I think I mixed up two passwords.", "It's been locked for over {days} days now."],
             ["Please unlock it.", "What do you need from me to reopen the account?"]],
            [["I'd like my {brand} account and personal data deleted.", "Please close my account permanently and erase my data."],
             ["I don't plan to shop online with you anymore.", "I'd like written confirmation under the privacy rules."],
             ["How long does deletion take?", "Let me know once it's done."]],
            [["I somehow have two accounts, one with my work email and one with my personal one.", "I accidentally created a second account at checkout."],
             ["My order history is split between the two.", "My saved addresses and wishlist are on the old one."],
             ["Can you merge the two into one?", "Please combine the accounts."]],
            [["I unsubscribed from your newsletters weeks ago but still get promotional emails every day.",
              "I turned off all marketing emails in my profile settings, yet the emails keep coming."],
             ["The preference page shows I'm opted out.", "It's about three messages a day now."],
             ["Please fix my communication preferences.", "Remove me from every mailing list, thanks."]],
            [["My order history disappeared from my account.", "When I log in, my past orders are gone, including the {product}."],
             ["I need the records for warranty purposes.", "My saved payment methods are still there, oddly."],
             ["Can you restore the order history?", "Where did my orders go?"]],
            [["I got an email about a login to my account from {city}, which wasn't me.", "Someone seems to have signed into my account from a device I don't own."],
             ["I changed my password straight away.", "My shipping address was edited too."],
             ["Can you secure the account and log out all sessions?", "Please check what was changed in my profile."]],
        ],
        "returns": [
            [["I'd like to return the {product}; it's still sealed.", "I want to send back the {product} from order {order}."],
             ["I bought it {days} days ago, so I'm within the return window.", "It turned out to be the wrong model for my setup."],
             ["Can you send me a return label?", "How do I start the return?"]],
            ["any", ["Can I exchange my {product} for the other colour?", "I'd like to swap the {product} for the bigger version."],
             ["It's unused and in the original box.", "I only opened it to check the size."],
             ["How does an exchange work with you?", "Please tell me the steps for an exchange."]],
            [["The return label you sent for order {order} has expired.", "The prepaid return label link for my {product} says it's no longer valid."],
             ["I didn't manage to drop it off in time because I was travelling.", "The post office refused to scan it."],
             ["Can you issue a new return label?", "Please send a fresh label so I can send it back."]],
            [["I mailed back the {product} on {date} and haven't heard anything.", "My return for order {order} was delivered to your warehouse {days} days ago."],
             ["The return status still says 'awaiting parcel'.", "I have the drop-off receipt."],
             ["Can you confirm the return was received?", "When will the return be processed?"]],
            [["I received the {product} as a gift and would like to return it.", "Someone gave me a {product} that I already own."],
             ["I don't have the receipt, only the order number {order}.", "The gift was bought from your website."],
             ["Can I still return it for store credit?", "What are my options for a gift return?"]],
            [["The {product} arrived with a cracked casing and I want to send it back.", "My {product} was dead on arrival, so I'd like to return it for a replacement."],
             ["I took photos when I opened the box.", "It never powered on, not even once."],
             ["Please arrange a return and replacement.", "How do I ship it back to you?"]],
            [["I bought the {product} {days} days ago; can I still return it?", "Is it too late to send back the {product}?"],
             ["The return policy page is confusing about the 30 versus 45 days.", "It was on a holiday sale, if that changes anything."],
             ["Please let me know if a return is possible.", "I'd like to send it back if allowed."]],
            [["I'd like to book a courier pickup for my return.", "Can you collect the {product} for a return instead of me dropping it off?"],
             ["It's the {product} and the box is too heavy for me to carry.", "I don't have a car to get to a drop-off point."],
             ["What days are available for return pickups?", "Please schedule a collection for the return."]],
        ],
    },
    "secondary": {
        "billing": ["The delivery itself was quick, no complaints there.", "I'm not trying to return anything, I like the {product}.",
                    "I don't need tech support, the device works great.", "This isn't about logging in, my account works fine."],
        "technical": ["I'd rather not go through a return, I just want it working.", "It was delivered quickly, so no issue with shipping.",
                      "I'm not asking for a refund at this point.", "I already checked my account and the warranty is registered."],
        "shipping": ["If it doesn't show up soon I might ask for a refund, but for now I just want to know where it is.",
                     "I've already been charged, so the order was definitely processed.", "I don't want to return or cancel anything, I just want the parcel.",
                     "I can see the order in my account, so that part is fine."],
        "account": ["This has nothing to do with my last order, which arrived fine.", "My card is saved in there, but I haven't seen any odd charges.",
                    "I'm not after a refund or a return, just access.", "The {product} itself works perfectly."],
        "returns": ["The charge on my card was correct, that's not the problem.", "Delivery was fast, that part was great.",
                    "Technically the device works fine, I just don't need it.", "I'll want the refund to go back to the original card, of course."],
    },
}

OOD_DOMAIN = {
    "brand": "Ironleaf Fitness",
    "products": [
        "Ironleaf Rower R3", "Stride T5 treadmill", "Cycle S2 smart bike", "adjustable dumbbell set",
        "kettlebell pair", "heart-rate chest strap", "resistance band kit", "yoga mat bundle",
        "Plus membership", "Studio Unlimited membership", "personal training package", "foam roller set",
    ],
    "groups": {
        "membership": ["Plus membership", "Studio Unlimited membership", "personal training package"],
        "equipment": ["Ironleaf Rower R3", "Stride T5 treadmill", "Cycle S2 smart bike", "adjustable dumbbell set", "kettlebell pair",
                      "heart-rate chest strap", "resistance band kit", "yoga mat bundle", "foam roller set"],
        "console": ["Ironleaf Rower R3", "Stride T5 treadmill", "Cycle S2 smart bike"],
        "heavy": ["Ironleaf Rower R3", "Stride T5 treadmill", "Cycle S2 smart bike", "adjustable dumbbell set"],
        "weights": ["adjustable dumbbell set", "kettlebell pair"],
    },
    "order_prefix": "IL",
    "prefaces": ["Member number {order}.", "My member ID is {order}.", "Re: my {product}."],
    "app": "Ironleaf member app",
    "promos": ["NEWYEAR20", "FRIEND10", "SUMMERFIT", "STUDENT15"],
    "scenarios": {
        "billing": [
            ["membership", ["My monthly membership dues were taken twice on {date}.", "You charged my card ${amount} two times for this month's membership."],
             ["Member number {order}, in case you need it.", "I've only got one membership, the {product}."],
             ["Please refund the extra payment.", "Can you reverse the duplicate dues?"]],
            ["membership", ["I froze my membership for the summer but you still charged the ${amount} fee.", "My account is on a medical freeze, yet the annual fee came out."],
             ["The front desk confirmed the freeze in writing.", "The freeze started on {date}."],
             ["Please refund that charge.", "Can you credit the fee back?"]],
            ["membership", ["I was charged a ${small} cancellation fee that nobody mentioned when I joined.", "There's a ${small} early-exit fee on my statement I don't agree with."],
             ["My contract says no fees after twelve months.", "I've been a member for over two years."],
             ["Please remove the fee.", "I'd like the charge reversed."]],
            ["membership", ["My student discount code {promo} wasn't applied to the {product}.", "The {promo} discount stopped working on my dues this month."],
             ["I paid the full ${amount} instead.", "My student card is valid until next year."],
             ["Can you refund the difference?", "Please fix the price on my plan."]],
            ["equipment", ["I bought a {product} for ${amount} but the invoice lists two units.", "The receipt for my {product} shows a joining fee I already paid last year."],
             ["My bank shows the higher amount too.", "I need a correct receipt for my employer's wellness budget."],
             ["Please correct the invoice and refund the difference.", "Can you send an accurate invoice?"]],
        ],
        "technical": [
            ["membership", ["The {app} crashes whenever I try to book a spin class.", "I can't reserve classes; the {app} freezes on the timetable."],
             ["I reinstalled it and restarted my phone.", "It shows error {errcode} before closing."],
             ["Is there a fix?", "How do I get booking working again?"]],
            ["console", ["The screen on my {product} froze in the middle of a ride.", "My {product} display is stuck on the warm-up screen."],
             ["Unplugging it for a minute didn't help.", "The resistance knob still works, just not the screen."],
             ["How do I reset the console?", "What troubleshooting should I try?"]],
            ["console", ["My heart-rate chest strap won't pair with the {product}.", "The {product} doesn't pick up my heart-rate strap anymore."],
             ["I replaced the strap's coin battery.", "It pairs with my phone, just not the machine."],
             ["Any pairing steps I'm missing?", "Is there a firmware update for this?"]],
            ["membership", ["My key fob no longer opens the door at the {city} studio.", "The turnstile scanner rejects my member QR code every morning."],
             ["Staff have to let me in manually each time.", "It worked fine until last week."],
             ["Can you check what's wrong with the access system?", "Please get the scanner to recognise me again."]],
            ["console", ["The {product} shows error code {errcode} and stops after a few minutes.", "The distance and speed readings on my {product} are clearly wrong."],
             ["It's on a level floor and plugged straight into the wall.", "I calibrated it like the manual says."],
             ["What does that error mean?", "How can I fix the sensor?"]],
            ["membership", ["Live classes on the {app} keep buffering and dropping to low quality.", "On-demand workouts stop loading halfway through in the {app}."],
             ["My internet speed is fine for everything else.", "It happens on both my tablet and TV."],
             ["Is this a problem on your side?", "Any settings that would help?"]],
        ],
        "shipping": [
            ["equipment", ["The delivery team missed the window for my {product} on {date}.", "My {product} delivery never turned up, even though I took the day off."],
             ["Nobody called or left a note.", "The tracking page just says 'rescheduled'."],
             ["When will it actually be delivered?", "Please book a new delivery slot."]],
            ["heavy", ["Tracking for order {order} has been stuck for {days} days.", "The {product} I ordered hasn't moved from the {city} depot."],
             ["It's a heavy item so it's on freight, I think.", "The carrier says to ask you."],
             ["Where is it?", "Can you chase the carrier for me?"]],
            ["heavy", ["My {product} is due on {date} but I live on the fourth floor without a lift.", "I need to know if the delivery crew will carry the {product} upstairs."],
             ["The order page only said 'kerbside'.", "I can't lift it alone."],
             ["Can you arrange an upstairs delivery?", "Please update the delivery instructions."]],
            ["weights", ["Only one box of my {product} arrived out of the two.", "Order {order} came without the second package."],
             ["The delivery note says 2 of 2.", "The weights are missing, only the stand came."],
             ["When will the rest be delivered?", "Please send the missing parcel."]],
            ["equipment", ["I need to change the delivery address for order {order}.", "The {product} is going to my old flat in {city}."],
             ["It hasn't been dispatched yet.", "I moved last week."],
             ["Can you update the address before it ships?", "Please redirect it to my new address."]],
        ],
        "account": [
            ["membership", ["I can't log into the member portal.", "The {app} says my email isn't recognised."],
             ["The password reset link never arrives.", "I've been a member for years with the same email."],
             ["Please help me get back into my account.", "How do I regain access?"]],
            ["membership", ["I want to add my teenager to my family membership profile.", "I need to update the emergency contact on my member profile."],
             ["There's no option for it in the profile page.", "The edit button is greyed out."],
             ["How do I change that?", "Can you update it for me?"]],
            ["membership", ["The photo on my member profile is someone else's.", "My name is misspelled on my member profile and on the check-in screen."],
             ["The front desk said only head office can change it.", "It's embarrassing at check-in."],
             ["Please fix my profile details.", "Can you correct it?"]],
            ["membership", ["Please delete my Ironleaf account and all stored data.", "I'd like my member profile and workout history erased."],
             ["I've moved away from the area.", "I no longer use the {app}."],
             ["Confirm when that's done, please.", "How long does it take?"]],
            ["membership", ["My member account got locked after I changed my phone.", "I got a security alert about a login I didn't make."],
             ["Two-factor codes go to my old number.", "My saved class bookings have changed too."],
             ["Can you unlock it and reset my security settings?", "Please secure my account."]],
        ],
        "returns": [
            ["equipment", ["I want to return the {product} under the 30-day home trial.", "The {product} isn't right for my space, so I'd like to send it back."],
             ["It's been {days} days since delivery.", "I kept all the packaging."],
             ["How do I arrange the return?", "Please start a return for me."]],
            ["weights", ["Can I exchange the {product} for a heavier set?", "I'd like to swap the {product} for a different size."],
             ["It's unused.", "I only tried it once."],
             ["How do exchanges work?", "Please tell me how to swap it."]],
            ["equipment", ["Your team collected my {product} for return on {date}, and nothing since.", "I sent back order {order} two weeks ago."],
             ["The return still shows as 'open'.", "I have the collection receipt."],
             ["Has the return been received?", "When will the return be processed?"]],
            ["heavy", ["I need a pickup booked for returning the {product}.", "The return form for my {product} won't let me pick a collection date."],
             ["It's far too heavy to post.", "The trial period ends on {date}."],
             ["Can you schedule the return collection?", "Please book a return pickup."]],
            ["equipment", ["My {product} arrived bent and I'd like to return it for a new one.", "The {product} came with a torn seam, so I want to send it back."],
             ["I have photos of the damage.", "It was like that straight out of the box."],
             ["Please arrange the return and replacement.", "How do I send it back?"]],
        ],
    },
    "secondary": {
        "billing": ["The classes themselves are great, no complaints.", "I'm not cancelling or returning anything.", "My login works fine, it's just the money."],
        "technical": ["I'd rather not return it, I just want it working.", "Billing is fine, this is about the equipment.", "Delivery went smoothly."],
        "shipping": ["If it doesn't come soon I may want a refund, but right now I just want the delivery.", "I've already paid in full.", "I can see the order in my member account."],
        "account": ["This isn't about my dues, those are fine.", "I'm not looking to cancel, just fix my profile.", "The equipment itself works fine."],
        "returns": ["The payment went through correctly.", "The delivery crew were lovely.", "The machine works, it just doesn't suit me."],
    },
}

OPENINGS = {
    "email": ["Hello,", "Hi there,", "Dear {brand} support,", "Good morning,", "To whom it may concern,", "Hi team,",
              "Hello {brand} team,", "Good afternoon,", ""],
    "chat": ["hi", "hey", "Hi, quick question.", "hello, anyone there?", "Hi!", ""],
    "phone": ["[Phone call, transcribed] Hi, yes, hello.", "[Voicemail transcript] Hi, calling about a problem.",
              "[Phone call, transcribed] Hello, thanks for picking up.", "[Voicemail transcript] Hello."],
}
CLOSINGS = ["Thanks.", "Thanks in advance!", "Appreciate the help.", "Please get back to me soon.", "Cheers.",
            "Looking forward to your reply.", "This is really frustrating.", "Thank you for your time.",
            "Hope you can help.", "Kind regards.", ""]

# Neutral context sentences (no queue vocabulary) that add length variety.
FILLERS = [
    "I've been a customer for a few years and this is the first time something like this has happened.",
    "I already searched your help centre but couldn't find anything that matches my situation.",
    "Sorry if this is the wrong place to ask, your contact form only had one option.",
    "I'm usually pretty patient but I've spent most of the evening on this.",
    "I'd appreciate a reply by email rather than a call, as I work shifts.",
    "To be fair, everything else about {brand} has been fine so far.",
    "I've attached a screenshot in case it helps.",
    "English is not my first language, so apologies for any mistakes.",
    "I already tried the chatbot and it just sent me in circles.",
    "I recommended {brand} to a few friends, so I'd like this sorted quickly.",
]

CITIES = ["Brookhaven", "Marlow Bay", "Eastfield", "Port Alden", "Northgate", "Riverton", "Glenmoor", "Westbury"]
COLORS = ["red", "blue", "orange", "white"]
DATES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "the 3rd", "the 12th", "the 21st", "last Saturday", "March 8", "June 14"]


def sentence_count_words(text: str) -> int:
    return len(text.split())


def add_typos(rng: random.Random, text: str, protected: set[str]) -> str:
    """Introduce 1-2 small typos in words longer than 4 letters (never names/pronouns)."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words)
                  if w.isalpha() and len(w) > 4 and w.lower() not in protected and w not in LABELS]
    if not candidates:
        return text
    for i in rng.sample(candidates, k=min(len(candidates), rng.choice([1, 1, 2]))):
        w = words[i]
        kind = rng.choice(["swap", "drop", "double"])
        j = rng.randrange(1, len(w) - 2)
        if kind == "swap":
            w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
        elif kind == "drop":
            w = w[:j] + w[j + 1:]
        else:
            w = w[:j] + w[j] + w[j:]
        words[i] = w
    return " ".join(words)


def make_ticket(rng: random.Random, domain: dict, label: str) -> tuple[str, dict]:
    scenario = rng.choice(domain["scenarios"][label])
    group = None
    if isinstance(scenario[0], str):
        group, scenario = scenario[0], scenario[1:]
    pool = domain["groups"].get(group) or domain["products"]
    product = rng.choice(pool)
    amount = rng.choice([49, 59, 79, 89, 119, 149, 199, 249, 329, 449, 599, 899])
    slots = {
        "brand": domain["brand"], "product": product, "app": domain["app"],
        "order": f"{domain['order_prefix']}-{rng.randint(10000, 99999)}",
        "amount": f"{amount}.{rng.choice(['00', '99', '49'])}",
        "amount2": f"{int(amount * rng.choice([0.7, 0.8, 0.85])) }.00",
        "small": f"{rng.choice([9, 12, 19, 24, 29, 39])}.{rng.choice(['00', '99'])}",
        "promo": rng.choice(domain["promos"]), "date": rng.choice(DATES), "days": rng.randint(3, 21),
        "hours": rng.randint(2, 6), "city": rng.choice(CITIES), "color": rng.choice(COLORS),
        "errcode": f"E{rng.randint(10, 99)}",
    }
    body = [rng.choice(slot) for slot in scenario]
    # Sometimes drop the final "ask" sentence for variety (keeps >= 2 sentences).
    if rng.random() < 0.2:
        body = body[:-1]
    channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
    parts = []
    opening = rng.choice(OPENINGS[channel])
    if opening:
        parts.append(opening)
    if rng.random() < 0.3:
        parts.append(rng.choice(domain["prefaces"]))
    parts.extend(body)
    if rng.random() < 0.35:  # secondary topic, deliberately naming another queue's vocabulary
        sec = rng.choice(domain["secondary"][label])
        parts.insert(rng.randint(len(parts) - len(body) + 1, len(parts)), sec)

    for _ in range(rng.choices([0, 1, 2], [0.55, 0.3, 0.15])[0]):
        parts.insert(rng.randint(1 if opening else 0, len(parts)), rng.choice(FILLERS))

    group_terms: dict = {}
    style = rng.random()
    if style < 0.6:
        name = rng.choice(NAMES)
        pron = rng.choices(PRONOUNS, PRONOUN_WEIGHTS)[0]
        group_terms = {"name": name, "pronoun": pron}
        slots.update(name=name, pron=pron, Pron=pron.capitalize(), relation=rng.choice(RELATIONS),
                     pronset=PRONOUN_SETS[pron])
        if rng.random() < 0.6:
            parts.insert(rng.randint(1, len(parts)), rng.choice(PERSON_LINES))
            closing = rng.choice(CLOSINGS)
            if closing:
                parts.append(closing)
        else:
            closing = rng.choice([c for c in CLOSINGS if c] )
            parts.append(closing)
            parts.append(rng.choice(SIGNOFFS))
    else:
        closing = rng.choice(CLOSINGS)
        if closing:
            parts.append(closing)

    text = " ".join(p.format(**slots) for p in parts)
    if channel == "chat" and rng.random() < 0.3:
        text = text.replace(". ", ".. ", 1) if rng.random() < 0.5 else text.rstrip(".")
    if rng.random() < 0.15:
        protected = {"she", "he", "they"}
        if group_terms:
            protected |= {w.lower() for w in group_terms["name"].split()}
        text = add_typos(rng, text, protected)
    text = re.sub(r"\s+", " ", text).strip()
    if group_terms:  # the pronoun must occur as a word (possibly in 'she/her'); no other third-person pronouns
        assert re.search(rf"\b{group_terms['pronoun']}\b", text, re.I), text
    meta = {"product": product, "channel": channel, "group_terms": group_terms}
    return text, meta


def generate(seed: int = 2468) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    seen: set[str] = set()
    out: dict[str, list[dict]] = {}
    for split, n in SPLIT_SIZES.items():
        domain = OOD_DOMAIN if split == "ood" else IN_DOMAIN
        rows = []
        # Per-split quotas from the (non-uniform) weights, +-1 jitter, then shuffled.
        quota = {l: max(1, round(n * LABEL_WEIGHTS[l]) + rng.choice([-1, 0, 1])) for l in LABELS}
        quota[LABELS[0]] += n - sum(quota.values())
        labels = [l for l in LABELS for _ in range(quota[l])]
        rng.shuffle(labels)
        for label in labels:
            for _ in range(100):
                text, meta = make_ticket(rng, domain, label)
                if MIN_WORDS <= sentence_count_words(text) <= MAX_WORDS and text not in seen:
                    break
            else:
                raise RuntimeError(f"could not generate a fresh {label} ticket for {split}")
            seen.add(text)
            rows.append({"id": f"cls-{split}-{len(rows) + 1:04d}", "input": text, "reference": label, "meta": meta})
        out[split] = rows
    # Integrity checks.
    all_inputs = [r["input"] for rows in out.values() for r in rows]
    assert len(all_inputs) == len(set(all_inputs)), "duplicate inputs across splits"
    for rows in out.values():
        for r in rows:
            assert r["reference"] in LABELS
            assert MIN_WORDS <= len(r["input"].split()) <= MAX_WORDS
            gt = r["meta"]["group_terms"]
            if gt:
                assert gt["name"] in r["input"], r
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=2468)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    args = ap.parse_args()
    data = generate(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    for split, rows in data.items():
        with open(args.out / f"{split}.jsonl", "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        counts = Counter(r["reference"] for r in rows)
        wc = sorted(len(r["input"].split()) for r in rows)
        named = sum(1 for r in rows if r["meta"]["group_terms"])
        print(f"{split:<10} n={len(rows):<4} " + " ".join(f"{l}={counts[l]}" for l in LABELS)
              + f" | words min={wc[0]} median={wc[len(wc) // 2]} mean={sum(wc) / len(wc):.1f} max={wc[-1]}"
              + f" | with name/pronoun={named}")


if __name__ == "__main__":
    main()
