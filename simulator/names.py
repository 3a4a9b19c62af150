"""Memecoin-style token names and symbols, picked deterministically from word lists."""

from __future__ import annotations

import random

_FIRST = (
    "Baby",
    "Based",
    "Big",
    "Chad",
    "Cosmic",
    "Crazy",
    "Dark",
    "Degen",
    "Doge",
    "Dumb",
    "Fat",
    "Giga",
    "Golden",
    "Happy",
    "Hyper",
    "King",
    "Lil",
    "Lucky",
    "Mad",
    "Mega",
    "Moon",
    "Mr",
    "Neon",
    "Pixel",
    "Pocket",
    "Quantum",
    "Retro",
    "Sad",
    "Shiny",
    "Sigma",
    "Silly",
    "Space",
    "Super",
    "Tiny",
    "Turbo",
    "Ultra",
    "Wild",
    "Wen",
    "Wise",
    "Zen",
)
_SECOND = (
    "Ape",
    "Banana",
    "Bear",
    "Bonk",
    "Bull",
    "Cat",
    "Chicken",
    "Coin",
    "Crab",
    "Dog",
    "Dragon",
    "Duck",
    "Eagle",
    "Fish",
    "Frog",
    "Goat",
    "Hamster",
    "Hippo",
    "Koala",
    "Lion",
    "List",
    "Llama",
    "Monkey",
    "Otter",
    "Owl",
    "Panda",
    "Pepe",
    "Pig",
    "Rabbit",
    "Rocket",
    "Seal",
    "Shark",
    "Sloth",
    "Snail",
    "Tiger",
    "Toad",
    "Troll",
    "Turtle",
    "Whale",
    "Wolf",
)
_SOLO = (
    "Resilience",
    "Outlier",
    "Light",
    "Juan",
    "Greg",
    "Lilpepe",
    "Ansem",
    "Fartcoin",
    "Goon",
    "Nub",
    "Popcat",
    "Mumu",
    "Chillguy",
    "Pnut",
    "Moodeng",
    "Zerebro",
    "Griffain",
    "Aura",
)


def token_name(rnd: random.Random) -> tuple[str, str]:
    """Return ``(name, symbol)``; symbols are upper case, sometimes ``$``-prefixed."""
    roll = rnd.random()
    if roll < 0.25:
        name = rnd.choice(_SOLO)
        symbol = name.upper()
    else:
        first, second = rnd.choice(_FIRST), rnd.choice(_SECOND)
        name = f"{first} {second}"
        symbol = (first + second).upper() if roll < 0.6 else (first[0] + second).upper()
    if rnd.random() < 0.08:
        symbol = "$" + symbol
    return name, symbol[:12]
