"""Synthetic raw tables behind the ``customer_360`` lens.

The lens (lenses/customer_360/customer_360.yml) reads two Icebase tables: a customer master and an
activity stream in the activity-schema shape, where ``order_placed``, ``order_rejected`` and
``order_invoiced`` events share the generic columns ``feature1..feature10`` and each entity's SQL maps
them to meaningful names. We cannot ship the real data, so this module fabricates a beverage
distributor's accounts and two years of their order lines, shaped so every lens query has something
realistic to say: skewed states, channels and tiers; gaps in contact data (the reachability measures);
customers that never order, churned or were suspended (recency); a few whales and a long tail
(frequency / monetary); rejected lines referencing their placed line 1:1 and invoices lagging
placement, so recent orders are not invoiced yet.

Why it is written this way:

* Everything is vectorised DuckDB SQL over ``range()``: ~10M activity rows (100k customers) take
  under 20 s on 2 cores (bench/bench_generate.py), peaking around 5 GB of memory. Randomness is a hash
  of (seed, key, tag) mapped to [0, 1), never ``random()`` (its sequence depends on thread scheduling),
  so a (customers, seed, end_date) triple always yields the same table contents, whatever the output
  file is called or how many threads run.
* Time is kept as integer seconds since the window start until the last projection, and per-line
  values are numeric until they are rendered to text, the way a raw stream stores them.
* ``activity_uuid`` is a v4-shaped UUID whose low 62 bits are a bijective mix of a unique event key,
  so uniqueness is guaranteed rather than merely likely.
* The file is written next to the target under a temporary name and renamed into place, so a proxy
  attaching ``data/icebase.duckdb`` never sees a half-written file.

The product catalogue is fixed (it does not depend on the seed); customers and orders do.
"""

from __future__ import annotations

import datetime
import os
import time
import uuid
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb

CUSTOMERS_TABLE = "customers_large_data"
STREAM_TABLE = "activity_streams_large_data"
SCHEMA = "audience"

WINDOW_DAYS = 730  # two years of history, ending with end_date (inclusive)
FIRST_ORDER_NO = 10_000_000

# Expected orders per customer over the full two-year window, by tier (1 = key account). Scaled so the
# default 10,000 customers produce about one million activity rows.
TIER_ORDERS = (170.0, 80.0, 34.0, 14.0)
RATE_SCALE = 0.61
TIER_CASES = (5.0, 3.0, 1.8, 1.2)  # typical cases per order line
TIER_DISCOUNT = (0.08, 0.05, 0.02, 0.0)

# --------------------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------------------

# state, region, county, zip3, area code, relative weight, site
COUNTIES: tuple[tuple[str, str, str, str, str, int, str], ...] = (
    ("CA", "WEST", "Los Angeles", "900", "213", 60, "101"),
    ("CA", "WEST", "San Diego", "921", "619", 22, "101"),
    ("CA", "WEST", "Orange", "926", "714", 20, "101"),
    ("CA", "WEST", "Riverside", "925", "951", 14, "101"),
    ("CA", "WEST", "Santa Clara", "951", "408", 13, "102"),
    ("CA", "WEST", "Alameda", "945", "510", 11, "102"),
    ("CA", "WEST", "Sacramento", "958", "916", 10, "102"),
    ("CA", "WEST", "San Francisco", "941", "415", 10, "102"),
    ("TX", "SOUTH", "Harris", "770", "713", 36, "201"),
    ("TX", "SOUTH", "Dallas", "752", "214", 28, "202"),
    ("TX", "SOUTH", "Tarrant", "761", "817", 18, "202"),
    ("TX", "SOUTH", "Bexar", "782", "210", 17, "203"),
    ("TX", "SOUTH", "Travis", "787", "512", 15, "203"),
    ("TX", "SOUTH", "El Paso", "799", "915", 6, "203"),
    ("FL", "SOUTHEAST", "Miami-Dade", "331", "305", 26, "301"),
    ("FL", "SOUTHEAST", "Broward", "333", "954", 18, "301"),
    ("FL", "SOUTHEAST", "Palm Beach", "334", "561", 14, "301"),
    ("FL", "SOUTHEAST", "Hillsborough", "336", "813", 14, "302"),
    ("FL", "SOUTHEAST", "Orange", "328", "407", 13, "302"),
    ("FL", "SOUTHEAST", "Duval", "322", "904", 9, "302"),
    ("NY", "NORTHEAST", "New York", "100", "212", 30, "401"),
    ("NY", "NORTHEAST", "Kings", "112", "718", 24, "401"),
    ("NY", "NORTHEAST", "Queens", "113", "718", 20, "401"),
    ("NY", "NORTHEAST", "Westchester", "105", "914", 8, "401"),
    ("NY", "NORTHEAST", "Erie", "142", "716", 7, "402"),
    ("NY", "NORTHEAST", "Monroe", "146", "585", 6, "402"),
    ("IL", "MIDWEST", "Cook", "606", "312", 38, "501"),
    ("IL", "MIDWEST", "DuPage", "601", "630", 9, "501"),
    ("IL", "MIDWEST", "Lake", "600", "847", 7, "501"),
    ("IL", "MIDWEST", "Sangamon", "627", "217", 3, "501"),
    ("PA", "NORTHEAST", "Philadelphia", "191", "215", 16, "403"),
    ("PA", "NORTHEAST", "Allegheny", "152", "412", 12, "403"),
    ("PA", "NORTHEAST", "Montgomery", "194", "610", 8, "403"),
    ("PA", "NORTHEAST", "Lancaster", "176", "717", 5, "403"),
    ("OH", "MIDWEST", "Franklin", "432", "614", 12, "502"),
    ("OH", "MIDWEST", "Cuyahoga", "441", "216", 12, "502"),
    ("OH", "MIDWEST", "Hamilton", "452", "513", 8, "502"),
    ("GA", "SOUTHEAST", "Fulton", "303", "404", 14, "303"),
    ("GA", "SOUTHEAST", "DeKalb", "300", "770", 8, "303"),
    ("GA", "SOUTHEAST", "Chatham", "314", "912", 4, "303"),
    ("NC", "SOUTHEAST", "Mecklenburg", "282", "704", 11, "304"),
    ("NC", "SOUTHEAST", "Wake", "276", "919", 10, "304"),
    ("NC", "SOUTHEAST", "Guilford", "274", "336", 5, "304"),
    ("NJ", "NORTHEAST", "Bergen", "076", "201", 9, "404"),
    ("NJ", "NORTHEAST", "Essex", "071", "973", 8, "404"),
    ("NJ", "NORTHEAST", "Hudson", "073", "201", 7, "404"),
    ("AZ", "WEST", "Maricopa", "850", "602", 18, "103"),
    ("AZ", "WEST", "Pima", "857", "520", 5, "103"),
    ("CO", "WEST", "Denver", "802", "303", 8, "104"),
    ("CO", "WEST", "El Paso", "809", "719", 5, "104"),
    ("CO", "WEST", "Boulder", "803", "303", 3, "104"),
    ("WA", "WEST", "King", "981", "206", 12, "105"),
    ("WA", "WEST", "Pierce", "984", "253", 5, "105"),
    ("WA", "WEST", "Spokane", "992", "509", 3, "105"),
    ("MA", "NORTHEAST", "Suffolk", "021", "617", 7, "405"),
    ("MA", "NORTHEAST", "Middlesex", "018", "978", 7, "405"),
    ("MA", "NORTHEAST", "Worcester", "016", "508", 4, "405"),
    ("TN", "SOUTH", "Davidson", "372", "615", 7, "204"),
    ("TN", "SOUTH", "Shelby", "381", "901", 6, "204"),
    ("NV", "WEST", "Clark", "891", "702", 12, "106"),
    ("NV", "WEST", "Washoe", "895", "775", 3, "106"),
)

# Name templates: {S} surname, {A} adjective, {N}/{M} nouns, {P} place, {C} chain, {#} store number.
_BAR = ("{S}'s Tavern", "The {A} {N}", "{P} Taphouse", "{S}'s Pub", "The {A} {N} Saloon", "{P} Ale House",
        "{N} & {M}")
_RES = ("{S}'s Kitchen", "{P} Grill", "Trattoria {S}", "The {A} {N} Bistro", "{P} Steakhouse", "Casa {S}",
        "{S} & Sons Chophouse", "{A} {N} Cafe")
_HTL = ("{P} Grand Hotel", "The {S} Inn", "{P} Resort & Spa", "{A} {N} Lodge", "Hotel {P}")
_CLB = ("Club {N}", "The {N} Room", "{A} {N} Lounge", "{P} Music Hall", "The {A} Note")
_LIQ = ("{S}'s Liquors", "{P} Wine & Spirits", "{A} {N} Bottle Shop", "{P} Package Store", "{S} Fine Wines",
        "{P} Liquor Mart")
_GRO = ("{C} #{#}", "{C} #{#}", "{S} Family Grocers", "{P} Food Mart")
_CNV = ("{C} #{#}", "{C} #{#}", "{P} Mini Mart", "{S}'s Corner Store")
_CHAIN = ("{C} #{#}",)

# code, name, premise, weight, tier skew exponent, beer & wine licence share, templates, chains
CHANNELS: tuple[tuple[str, str, str, int, float, float, Sequence[str], Sequence[str]], ...] = (
    ("BAR", "BAR / TAVERN", "ON PREMISE", 22, 1.0, 0.25, _BAR, ()),
    ("RES", "FULL SERVICE RESTAURANT", "ON PREMISE", 22, 1.0, 0.45, _RES, ()),
    ("HTL", "HOTEL / RESORT", "ON PREMISE", 6, 1.3, 0.05, _HTL, ()),
    ("CLB", "NIGHTCLUB / MUSIC VENUE", "ON PREMISE", 5, 1.1, 0.10, _CLB, ()),
    ("LIQ", "LIQUOR STORE", "OFF PREMISE", 20, 1.1, 0.05, _LIQ, ()),
    ("GRO", "GROCERY / SUPERMARKET", "OFF PREMISE", 9, 1.5, 0.55, _GRO,
     ("FreshWay Market", "Harvest Foods", "GreenBasket Grocers", "Valley Fresh")),
    ("CNV", "CONVENIENCE / GAS", "OFF PREMISE", 11, 0.8, 0.70, _CNV, ("QuickStop", "Fuel & Go", "Corner Express")),
    ("DRG", "DRUG STORE", "OFF PREMISE", 2, 1.3, 0.30, _CHAIN, ("CareMart Pharmacy", "WellPlus Drug")),
    ("MAS", "MASS MERCHANDISER / CLUB", "OFF PREMISE", 3, 1.8, 0.20, _CHAIN,
     ("ValueMax", "Costwise Warehouse", "MegaSave")),
)
CHAIN_CHANNELS = ("GRO", "DRG", "MAS")

SURNAMES = ("Smith", "Johnson", "Garcia", "Martinez", "Rodriguez", "Nguyen", "Kim", "Patel", "O'Brien", "Murphy",
            "Kelly", "Rossi", "Bianchi", "Schmidt", "Muller", "Cohen", "Lee", "Chen", "Walker", "Hall", "Young",
            "Allen", "King", "Wright", "Lopez", "Hill", "Scott", "Green", "Adams", "Baker", "Nelson", "Carter",
            "Mitchell", "Perez", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans", "Collins",
            "Stewart", "Sanchez", "Morris", "Rogers", "Reed", "Cook", "Morgan", "Bell", "Doyle")
FIRST_NAMES = ("James", "Maria", "Robert", "Linda", "Michael", "Jennifer", "David", "Carlos", "Sarah", "Daniel",
               "Emily", "Kevin", "Laura", "Brian", "Angela", "Tony", "Grace", "Marco", "Priya", "Sean")
ADJECTIVES = ("Golden", "Rusty", "Silver", "Blue", "Red", "Copper", "Iron", "Lucky", "Wild", "Velvet", "Crooked",
              "Salty", "Thirsty", "Jolly", "Hidden", "Black", "Green", "Royal", "Old", "Happy")
NOUNS = ("Anchor", "Fox", "Stag", "Barrel", "Lantern", "Owl", "Crow", "Horse", "Goat", "Pelican", "Bear",
         "Rooster", "Whale", "Hound", "Oak", "Kettle", "Compass", "Thistle", "Pig", "Tap")
PLACES = ("Riverside", "Lakeside", "Harbor", "Hillcrest", "Oakwood", "Westside", "Downtown", "Uptown", "Midtown",
          "Brookside", "Fairview", "Greenfield", "Maplewood", "Cedar Creek", "Sunset", "Bayview", "Pinecrest",
          "Eastgate", "Northpoint", "Silver Lake")
STREETS = ("Main", "Oak", "Maple", "Cedar", "Elm", "Pine", "Washington", "Lake", "Hill", "Park", "Sunset",
           "Market", "Broadway", "1st", "2nd", "3rd", "Church", "Mill", "River", "Highland", "Franklin", "Lincoln",
           "Jefferson", "Madison", "Spring", "Center", "Walnut", "Chestnut", "Ridge", "Meadow")
STREET_SUFFIXES = ("St", "Ave", "Blvd", "Rd", "Dr", "Way", "Ln", "Pkwy")
MAIL_DOMAINS = ("yahoo.com", "outlook.com", "aol.com", "hotmail.com")

# category -> classification, base price (per 750ML / per can), beer & wine licence may buy it,
# category popularity, variants
CATEGORIES: dict[str, tuple[str, float, bool, float, tuple[str, ...]]] = {
    "VODKA": ("SPIRITS", 14.0, False, 1.6, ("", "CITRUS", "VANILLA")),
    "BOURBON": ("SPIRITS", 24.0, False, 1.2, ("", "SINGLE BARREL")),
    "SCOTCH": ("SPIRITS", 38.0, False, 0.6, ("12YR", "18YR")),
    "IRISH WHISKEY": ("SPIRITS", 22.0, False, 0.7, ("",)),
    "TEQUILA": ("SPIRITS", 26.0, False, 1.3, ("BLANCO", "REPOSADO", "ANEJO")),
    "RUM": ("SPIRITS", 13.0, False, 0.9, ("WHITE", "SPICED", "DARK")),
    "GIN": ("SPIRITS", 18.0, False, 0.6, ("LONDON DRY",)),
    "COGNAC": ("SPIRITS", 42.0, False, 0.4, ("VS", "VSOP")),
    "LIQUEUR": ("SPIRITS", 17.0, False, 0.5, ("",)),
    "RED WINE": ("WINE", 10.0, True, 1.3, ("CABERNET SAUVIGNON", "PINOT NOIR", "MERLOT")),
    "WHITE WINE": ("WINE", 9.0, True, 1.2, ("CHARDONNAY", "SAUVIGNON BLANC", "PINOT GRIGIO")),
    "SPARKLING WINE": ("WINE", 11.0, True, 0.7, ("PROSECCO", "BRUT")),
    "ROSE WINE": ("WINE", 9.0, True, 0.6, ("ROSE",)),
    "LAGER": ("BEER", 0.85, True, 2.0, ("",)),
    "IPA": ("BEER", 1.25, True, 1.4, ("", "HAZY")),
    "STOUT": ("BEER", 1.20, True, 0.5, ("",)),
    "MEXICAN LAGER": ("BEER", 1.05, True, 1.5, ("",)),
    "HARD SELTZER": ("RTD", 1.10, True, 1.3, ("BLACK CHERRY", "LIME", "MANGO")),
    "CIDER": ("RTD", 1.15, True, 0.5, ("DRY", "HONEYCRISP")),
    "CANNED COCKTAIL": ("RTD", 2.20, False, 0.7, ("MARGARITA", "MOJITO", "PALOMA")),
}
VARIANT_PRICE = {"18YR": 2.1, "ANEJO": 1.35, "VSOP": 1.6, "SINGLE BARREL": 1.5, "REPOSADO": 1.15, "HAZY": 1.1}

# classification -> sizes: (label, bottles per case, price multiplier, popularity); the first is always stocked
SIZES: dict[str, tuple[tuple[str, int, float, float], ...]] = {
    "SPIRITS": (("750ML", 12, 1.0, 1.0), ("50ML", 120, 0.09, 0.15), ("375ML", 24, 0.55, 0.35),
                ("1L", 12, 1.25, 0.45), ("1.75L", 6, 2.0, 0.6)),
    "WINE": (("750ML", 12, 1.0, 1.0), ("187ML", 24, 0.3, 0.2), ("1.5L", 6, 1.8, 0.4), ("3L BOX", 4, 3.0, 0.25)),
    "BEER": (("12OZ CAN 24PK", 24, 1.0, 1.0), ("12OZ BTL 24PK", 24, 1.05, 0.6), ("16OZ CAN 24PK", 24, 1.3, 0.35)),
    "RTD": (("12OZ CAN 24PK", 24, 1.0, 1.0), ("12OZ CAN VARIETY 24PK", 24, 1.05, 0.5)),
}

# brand, supplier, category, price factor, popularity
BRANDS: tuple[tuple[str, str, str, float, float], ...] = (
    ("SILVER BIRCH", "NORTHWIND SPIRITS CO", "VODKA", 1.0, 1.5),
    ("POLAR REACH", "NORTHWIND SPIRITS CO", "VODKA", 0.8, 1.0),
    ("CRYSTAL FJORD", "GOLDEN COAST IMPORTS", "VODKA", 1.5, 0.7),
    ("HOLLOW CREEK", "BLUE RIDGE DISTILLERS", "BOURBON", 1.0, 1.2),
    ("OLD FOUNDRY", "BLUE RIDGE DISTILLERS", "BOURBON", 1.3, 0.8),
    ("GLEN ARRAN", "GOLDEN COAST IMPORTS", "SCOTCH", 1.0, 0.8),
    ("KILBRIDE", "GOLDEN COAST IMPORTS", "IRISH WHISKEY", 1.0, 1.0),
    ("CASA LUNA", "GOLDEN COAST IMPORTS", "TEQUILA", 1.1, 1.2),
    ("AGAVE SOL", "COPPER KETTLE BRANDS", "TEQUILA", 0.85, 1.0),
    ("TRADE WIND", "COPPER KETTLE BRANDS", "RUM", 0.9, 1.1),
    ("ISLA DORADA", "GOLDEN COAST IMPORTS", "RUM", 1.2, 0.7),
    ("JUNIPER HILL", "NORTHWIND SPIRITS CO", "GIN", 1.0, 1.0),
    ("MAISON DEVEREAUX", "GOLDEN COAST IMPORTS", "COGNAC", 1.0, 1.0),
    ("VELVET ORCHARD", "COPPER KETTLE BRANDS", "LIQUEUR", 1.0, 1.0),
    ("SIERRA VALLEY", "SIERRA VALLEY VINEYARDS", "RED WINE", 1.0, 1.2),
    ("OAK BLUFF", "SIERRA VALLEY VINEYARDS", "RED WINE", 1.6, 0.7),
    ("RED MESA", "PACIFIC CREST WINE GROUP", "RED WINE", 0.8, 1.0),
    ("COASTAL FOG", "PACIFIC CREST WINE GROUP", "WHITE WINE", 1.0, 1.1),
    ("WILLOW BEND", "SIERRA VALLEY VINEYARDS", "WHITE WINE", 1.2, 0.8),
    ("STELLA D'ORO", "GOLDEN COAST IMPORTS", "SPARKLING WINE", 1.0, 1.0),
    ("PINK PELICAN", "PACIFIC CREST WINE GROUP", "ROSE WINE", 1.0, 1.0),
    ("HARBOR LIGHT", "HARBOR LIGHT BREWING", "LAGER", 1.0, 1.5),
    ("OLD MILL PILSNER", "OLD MILL BEVERAGE", "LAGER", 0.9, 1.2),
    ("PRAIRIE GOLD", "LONE STAR CRAFT BEVERAGES", "LAGER", 0.95, 0.9),
    ("IRONWOOD", "IRONWOOD BREWING CO", "IPA", 1.0, 1.0),
    ("HOPSMITH", "IRONWOOD BREWING CO", "IPA", 1.1, 0.8),
    ("DARK HARBOR", "HARBOR LIGHT BREWING", "STOUT", 1.0, 1.0),
    ("CERVEZA PLAYA", "GOLDEN COAST IMPORTS", "MEXICAN LAGER", 1.0, 1.3),
    ("FIZZ WAVE", "OLD MILL BEVERAGE", "HARD SELTZER", 1.0, 1.2),
    ("SPARKLE PEAK", "LONE STAR CRAFT BEVERAGES", "HARD SELTZER", 0.95, 0.9),
    ("ORCHARD ROW", "HARBOR LIGHT BREWING", "CIDER", 1.0, 1.0),
    ("CANYON COCKTAILS", "COPPER KETTLE BRANDS", "CANNED COCKTAIL", 1.0, 1.0),
)

# Rejections: (code, order status code, delivery status, happens at delivery). The first three reject a
# whole order, the rest single lines.
REJECT_CODES = (
    ("CREDIT_HOLD", "REJ", "NOT SHIPPED", False),
    ("LICENSE_EXPIRED", "REJ", "NOT SHIPPED", False),
    ("CUSTOMER_CANCELLED", "CXL", "NOT SHIPPED", False),
    ("OUT_OF_STOCK", "CXL", "NOT SHIPPED", False),
    ("ALLOCATION_LIMIT", "CXL", "NOT SHIPPED", False),
    ("PRICING_ERROR", "REJ", "NOT SHIPPED", False),
    ("DAMAGED_IN_TRANSIT", "RTN", "RETURNED", True),
    ("REFUSED_AT_DELIVERY", "RTN", "REFUSED", True),
)


def _products() -> list[tuple]:
    """The fixed catalogue: (pid, product_id, brand, supplier, category, classification, bpc, price, pop, bw)."""
    rows = []
    for bi, (brand, supplier, category, factor, brand_pop) in enumerate(BRANDS):
        classification, base, bw, cat_pop, variants = CATEGORIES[category]
        for vi, variant in enumerate(variants):
            for si, (size, bpc, mult, size_pop) in enumerate(SIZES[classification]):
                if si and (bi * 7 + vi * 5 + si * 3) % 4 == 0:
                    continue  # not every brand comes in every size
                price = round(base * mult * factor * VARIANT_PRICE.get(variant, 1.0), 2)
                jitter = 0.5 + zlib.crc32(f"{brand}|{variant}|{size}".encode()) / 2**32
                pop = brand_pop * cat_pop * size_pop * (1.0 if vi == 0 else 0.6) * jitter
                rows.append((brand, supplier, category, classification, bpc, price, pop, bw))
    return [(i, f"P{10001 + i}", *r) for i, r in enumerate(rows)]


# --------------------------------------------------------------------------------------------------
# SQL helpers
# --------------------------------------------------------------------------------------------------


def _lit(v: object) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_lit(x) for x in v) + "]" if v else "[]::VARCHAR[]"
    return "'" + str(v).replace("'", "''") + "'"


def _values(rows: Sequence[Sequence[object]]) -> str:
    return ", ".join("(" + ", ".join(_lit(v) for v in r) + ")" for r in rows)


def _pick(items: Sequence[str], r: str) -> str:
    """SQL choosing one of ``items`` uniformly given a uniform [0, 1) expression ``r``."""
    return f"{_lit(tuple(items))}[1 + floor({r} * {len(items)})::BIGINT]"


def _uuid_sql(key: str, seed: int) -> str:
    """A v4-shaped UUID: random high half, low 62 bits a bijection of the unique ``key``.

    Kept as the 16-byte UUID type for sorting (its order is the order of its text form) and rendered as
    text only on output.
    """
    m62 = (1 << 62) - 1
    mix = (seed * 0x9E3779B97F4A7C15) & m62
    x1 = f"((xor({key}::UHUGEINT, {mix}::UHUGEINT) * 11400714819323198485::UHUGEINT) & {m62}::UHUGEINT)"
    x2 = f"(xor({x1}, {x1} >> 29) * 13787848793156543929::UHUGEINT & {m62}::UHUGEINT)"
    lo = f"(xor({x2}, {x2} >> 32) | {1 << 63}::UHUGEINT)"
    hi = f"(((h({key}, 99) & 18446744073709490175::UBIGINT) | 16384::UBIGINT)::UHUGEINT << 64)"
    return f"({hi} | {lo})::UUID"


def _setup(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    con.execute(f"""
        -- hash(x, y) just XORs the per-argument hashes, so hash(s, i, 1) and hash(s, i, 2) would be
        -- correlated; re-hashing after mixing in each tag gives independent streams. Uniforms keep 53 bits
        -- so they are exactly representable and strictly inside (0, 1).
        CREATE TEMP MACRO h(a, b) AS hash(xor(hash({seed}, a), b::UBIGINT));
        CREATE TEMP MACRO u(a, b) AS (((h(a, b) >> 11)::DOUBLE + 0.5) / 9007199254740992.0);
        CREATE TEMP MACRO u3(a, b, c) AS (((hash(xor(h(a, b), c::UBIGINT)) >> 11)::DOUBLE + 0.5) / 9007199254740992.0);
        CREATE TEMP MACRO gauss(r1, r2) AS (sqrt(-2.0 * ln(r1)) * cos(2.0 * pi() * r2));
    """)
    counties = [(i, *c) for i, c in enumerate(COUNTIES)]
    con.execute(f"""
        CREATE TEMP TABLE counties(county_id INTEGER, state VARCHAR, region VARCHAR, county_name VARCHAR,
                                   zip3 VARCHAR, area_code VARCHAR, weight INTEGER, site VARCHAR);
        INSERT INTO counties VALUES {_values(counties)};
        CREATE TEMP TABLE county_pick AS
            SELECT (row_number() OVER (ORDER BY county_id, s) - 1)::INTEGER AS slot, county_id
            FROM (SELECT county_id, unnest(range(weight)) AS s FROM counties);
    """)
    channels = [(i, c[0], c[1], c[2], c[3], c[4], c[5], list(c[6]), list(c[7]), c[0] in CHAIN_CHANNELS)
                for i, c in enumerate(CHANNELS)]
    con.execute(f"""
        CREATE TEMP TABLE channels(channel_id INTEGER, channel_code VARCHAR, channel_name VARCHAR,
                                   premise_code VARCHAR, weight INTEGER, tier_exp DOUBLE, bw_share DOUBLE,
                                   templates VARCHAR[], chains VARCHAR[], chain BOOLEAN);
        INSERT INTO channels VALUES {_values(channels)};
        CREATE TEMP TABLE channel_pick AS
            SELECT (row_number() OVER (ORDER BY channel_id, s) - 1)::INTEGER AS slot, channel_id
            FROM (SELECT channel_id, unnest(range(weight)) AS s FROM channels);
    """)
    products = _products()
    con.execute(f"""
        CREATE TEMP TABLE products(pid INTEGER, product_id VARCHAR, brand VARCHAR, supplier VARCHAR,
                                   category VARCHAR, classification VARCHAR, bpc INTEGER, price DOUBLE,
                                   pop DOUBLE, bw BOOLEAN);
        INSERT INTO products VALUES {_values(products)};
        -- Popularity ranks, one ranking per licence pool (beer & wine licensees see only bw products).
        CREATE TEMP TABLE pool AS
            SELECT FALSE AS bw, (row_number() OVER (ORDER BY pop DESC, pid) - 1)::INTEGER AS prank, pid
            FROM products
            UNION ALL
            SELECT TRUE, (row_number() OVER (ORDER BY pop DESC, pid) - 1)::INTEGER, pid
            FROM products WHERE bw;
    """)


def _counts(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


# --------------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------------


def _customers(con: duckdb.DuckDBPyConnection, n: int) -> None:
    county_total = sum(c[5] for c in COUNTIES)
    channel_total = sum(c[3] for c in CHANNELS)
    tier_orders = _lit([t * RATE_SCALE for t in TIER_ORDERS])
    con.execute(f"""
        CREATE TEMP TABLE cust AS
        WITH b AS (
            SELECT i AS idx,
                   floor(u(i, 1) * {county_total})::INTEGER AS county_slot,
                   floor(u(i, 2) * {channel_total})::INTEGER AS channel_slot,
                   u(i, 3) AS r_tier, u(i, 4) AS r_lic, u(i, 5) AS r_status, u(i, 6) AS r_new,
                   u(i, 7) AS r_start, u(i, 8) AS r_end, u(i, 9) AS r_zero,
                   gauss(u(i, 10), u(i, 11)) AS z_rate, u(i, 12) AS r_round
            FROM range(1, {n} + 1) t(i)
        ), c AS (
            SELECT b.*, co.state, co.region, co.county_name, co.zip3, co.area_code, co.site,
                   ch.channel_code, ch.channel_name, ch.premise_code, ch.templates, ch.chains, ch.chain,
                   CASE WHEN pow(r_tier, ch.tier_exp) < 0.05 THEN 1 WHEN pow(r_tier, ch.tier_exp) < 0.20 THEN 2
                        WHEN pow(r_tier, ch.tier_exp) < 0.55 THEN 3 ELSE 4 END AS tier,
                   r_lic < ch.bw_share AS bw,
                   CASE WHEN r_status < 0.86 THEN 'active' WHEN r_status < 0.96 THEN 'inactive'
                        ELSE 'suspended' END AS status,
                   -- a quarter of the accounts opened during the window
                   CASE WHEN r_new < 0.25 THEN floor(r_start * 720)::INTEGER ELSE 0 END AS start_off
            FROM b
            JOIN county_pick cp ON cp.slot = b.county_slot JOIN counties co ON co.county_id = cp.county_id
            JOIN channel_pick hp ON hp.slot = b.channel_slot JOIN channels ch ON ch.channel_id = hp.channel_id
        )
        SELECT *,
               -- inactive accounts stopped ordering at least four months ago, suspended ones recently
               CASE status WHEN 'active' THEN {WINDOW_DAYS}
                    WHEN 'inactive' THEN start_off + floor(greatest({WINDOW_DAYS - 120} - start_off, 0) * r_end)::INTEGER
                    ELSE {WINDOW_DAYS - 14} - floor(76 * r_end)::INTEGER END AS end_off,
               CASE WHEN r_zero < 0.07 THEN 0
                    ELSE least(floor({tier_orders}[tier] * exp(0.7 * z_rate - 0.245) + r_round), 5000)::INTEGER
               END AS n_full
        FROM c
    """)
    name_fill = "replace(replace(replace(replace(replace(replace(replace(tpl, '{S}', surname), '{A}', adj), " \
                "'{N}', noun), '{M}', noun2), '{P}', place), '{C}', coalesce(chain_name, '')), '{#}', store_no)"
    con.execute(f"""
        CREATE TABLE {SCHEMA}.{CUSTOMERS_TABLE} (
            customer_id VARCHAR, customer_name VARCHAR, email VARCHAR, phone_number VARCHAR, address VARCHAR,
            customer_no VARCHAR, site VARCHAR, state VARCHAR, county_name VARCHAR, zip VARCHAR,
            premise_code VARCHAR, status VARCHAR, license_classification VARCHAR, license_type VARCHAR,
            channel_code VARCHAR, channel_name VARCHAR, selling_division_name VARCHAR, consent VARCHAR);
        INSERT INTO {SCHEMA}.{CUSTOMERS_TABLE}
        WITH p AS (
            SELECT *,
                   templates[1 + floor(u(idx, 20) * len(templates))::BIGINT] AS tpl,
                   {_pick(SURNAMES, 'u(idx, 21)')} AS surname,
                   {_pick(ADJECTIVES, 'u(idx, 22)')} AS adj,
                   {_pick(NOUNS, 'u(idx, 23)')} AS noun,
                   {_pick(NOUNS, 'u(idx, 24)')} AS noun2,
                   {_pick(PLACES, 'u(idx, 25)')} AS place,
                   chains[1 + floor(u(idx, 26) * len(chains))::BIGINT] AS chain_name,
                   (100 + floor(u(idx, 27) * 900)::INTEGER)::VARCHAR AS store_no,
                   {_pick(FIRST_NAMES, 'u(idx, 28)')} AS first_name
            FROM cust
        ), nm AS (
            SELECT *, {name_fill} AS customer_name FROM p
        ), s AS (
            SELECT *, lower(regexp_replace(customer_name, '[^A-Za-z0-9]+', '', 'g')) AS slug,
                   row_number() OVER (PARTITION BY site ORDER BY idx) AS site_seq
            FROM nm
        )
        SELECT printf('C%07d', idx),
               customer_name,
               CASE WHEN u(idx, 30) < 0.20 THEN NULL
                    WHEN u(idx, 31) < 0.45 THEN CASE WHEN u(idx, 32) < 0.6 THEN 'info@' ELSE 'orders@' END
                                                || slug || '.com'
                    WHEN u(idx, 31) < 0.75 THEN lower(first_name) || '.'
                                                || lower(regexp_replace(surname, '[^A-Za-z]', '', 'g')) || '@gmail.com'
                    ELSE slug || (10 + floor(u(idx, 33) * 90)::INTEGER)::VARCHAR || '@'
                         || {_pick(MAIL_DOMAINS, 'u(idx, 34)')} END,
               CASE WHEN u(idx, 35) < 0.12 THEN NULL
                    WHEN u(idx, 36) < 0.65 THEN printf('(%s) %03d-%04d', area_code,
                         200 + floor(u(idx, 37) * 800)::INTEGER, floor(u(idx, 38) * 10000)::INTEGER)
                    WHEN u(idx, 36) < 0.90 THEN printf('%s-%03d-%04d', area_code,
                         200 + floor(u(idx, 37) * 800)::INTEGER, floor(u(idx, 38) * 10000)::INTEGER)
                    ELSE printf('%s%03d%04d', area_code,
                         200 + floor(u(idx, 37) * 800)::INTEGER, floor(u(idx, 38) * 10000)::INTEGER) END,
               CASE WHEN u(idx, 39) < 0.07 THEN NULL
                    ELSE printf('%d %s %s', 1 + floor(pow(u(idx, 40), 2) * 9999)::INTEGER,
                                {_pick(STREETS, 'u(idx, 41)')}, {_pick(STREET_SUFFIXES, 'u(idx, 42)')})
                         || CASE WHEN u(idx, 43) < 0.15
                                 THEN ', Suite ' || (100 + floor(u(idx, 44) * 400)::INTEGER)::VARCHAR ELSE '' END
               END,
               (10000 + site_seq * 3 + floor(u(idx, 45) * 3)::INTEGER)::VARCHAR,
               site, state, county_name,
               zip3 || printf('%02d', floor(u(idx, 46) * 100)::INTEGER),
               premise_code, status,
               'TIER ' || tier::VARCHAR,
               CASE WHEN premise_code = 'ON PREMISE' THEN 'ON-SALE ' ELSE 'OFF-SALE ' END
                   || CASE WHEN bw THEN 'BEER & WINE' ELSE 'GENERAL' END,
               channel_code, channel_name,
               region || ' - ' || CASE WHEN premise_code = 'ON PREMISE' THEN 'ON PREMISE'
                                       WHEN chain THEN 'CHAIN OFF PREMISE' ELSE 'INDEPENDENT OFF PREMISE' END,
               CASE WHEN u(idx, 47) < 0.72 THEN 'Y' ELSE 'N' END
        FROM s
        ORDER BY idx
    """)


def _orders(con: duckdb.DuckDBPyConnection, window_start: datetime.date) -> None:
    """One row per order (not per line): when, how many lines, and the order-level outcome."""
    d = WINDOW_DAYS
    period = 365.25 / 2  # two peaks a year: early summer and the December holidays
    trough_doy = 75  # mid March (and mid September)
    t0 = window_start.timetuple().tm_yday - trough_doy
    ws_dow = (window_start.weekday() + 1) % 7  # 0 = Sunday
    amp = 0.3
    con.execute(f"""
        CREATE TEMP TABLE orders AS
        WITH o AS (
            SELECT idx, tier, bw, premise_code = 'ON PREMISE' AS onprem, start_off, end_off,
                   unnest(range(n_full)) AS k
            FROM cust WHERE n_full > 0 AND end_off > start_off
        ), w AS (
            -- uniform day, warped so the density follows the season
            SELECT *, {d} * u3(idx, k, 1) AS t FROM o
        ), x AS (
            SELECT *, t + {amp} * {period} / (2 * pi()) * sin(2 * pi() * (t + {t0}) / {period}) AS x0 FROM w
        ), d0 AS (
            SELECT *, floor(x0 - {d} * floor(x0 / {d}))::INTEGER AS day0 FROM x
        ), d1 AS (
            -- trade customers rarely order at weekends: most move to a weekday of the same week
            SELECT *, day0 + CASE WHEN u3(idx, k, 2) >= 0.85 THEN 0
                                  WHEN (day0 + {ws_dow}) % 7 = 6 THEN -1 - floor(u3(idx, k, 14) * 5)::INTEGER
                                  WHEN (day0 + {ws_dow}) % 7 = 0 THEN 1 + floor(u3(idx, k, 14) * 5)::INTEGER
                                  ELSE 0 END AS day
            FROM d0 WHERE day0 >= start_off AND day0 < end_off
        ), e AS (
            SELECT idx, k, tier, bw, onprem, day,
                   day::BIGINT * 86400
                     + (7 + floor(11 * (u3(idx, k, 3) + u3(idx, k, 4)) / 2))::BIGINT * 3600
                     + floor(3600 * u3(idx, k, 5))::BIGINT AS ts_s,
                   CASE WHEN u3(idx, k, 6) < 0.28 THEN 1 WHEN u3(idx, k, 6) < 0.52 THEN 2
                        WHEN u3(idx, k, 6) < 0.71 THEN 3 WHEN u3(idx, k, 6) < 0.85 THEN 4
                        WHEN u3(idx, k, 6) < 0.94 THEN 5 ELSE 6 END AS n_lines,
                   1 + floor(pow(u3(idx, k, 7), 1.5) * 6)::INTEGER AS delivery_days,
                   u3(idx, k, 8) < 0.025 AS full_reject,
                   CASE WHEN u3(idx, k, 9) < 0.5 THEN 1 WHEN u3(idx, k, 9) < 0.7 THEN 2 ELSE 3 END AS order_rcode,
                   u3(idx, k, 10) < 0.90 AS invoiced_o,
                   floor(u3(idx, k, 11) * 3)::INTEGER AS inv_extra,
                   (5 * 3600 + floor(u3(idx, k, 12) * 14 * 3600))::BIGINT AS inv_secs,
                   u3(idx, k, 13) AS r_product
            FROM d1 WHERE day BETWEEN 0 AND {d - 1}
        ), f AS (
            SELECT *, day + delivery_days
                      + CASE WHEN (day + delivery_days + {ws_dow}) % 7 = 0 THEN 1 ELSE 0 END AS rdd_day
            FROM e
        )
        SELECT *,
               {FIRST_ORDER_NO} + row_number() OVER (ORDER BY ts_s, idx, k) AS order_no,
               strftime(DATE '{window_start.isoformat()}' + rdd_day, '%Y-%m-%d') AS rdd,
               least(greatest(rdd_day - day + inv_extra, 1), 10) AS inv_lag_days
        FROM f
    """)


def _lines(con: duckdb.DuckDBPyConnection) -> None:
    """One row per order line with its product, quantities, value and line-level outcome."""
    n_all = _counts(con, "SELECT count(*) FROM pool WHERE NOT bw")
    n_bw = _counts(con, "SELECT count(*) FROM pool WHERE bw")
    tier_cases = _lit(list(TIER_CASES))
    tier_disc = _lit(list(TIER_DISCOUNT))
    codes = _lit([c[0] for c in REJECT_CODES])
    statuses = _lit([c[1] for c in REJECT_CODES])
    deliveries = _lit([c[2] for c in REJECT_CODES])
    at_delivery = "(" + " OR ".join(f"rcode = {i + 1}" for i, c in enumerate(REJECT_CODES) if c[3]) + ")"
    con.execute(f"""
        CREATE TEMP TABLE lines AS
        WITH l AS (
            SELECT *, unnest(range(1, n_lines + 1)) AS line FROM orders
        ), r AS (
            -- distinct products within an order: a popularity-skewed start, then a fixed stride
            SELECT *, ((floor(pow(r_product, 2.3) * CASE WHEN bw THEN {n_bw} ELSE {n_all} END)::INTEGER
                        + (line - 1) * 7) % CASE WHEN bw THEN {n_bw} ELSE {n_all} END)::INTEGER AS prank,
                   ((order_no - {FIRST_ORDER_NO}) * 8 + line) * 4 AS key
            FROM l
        ), p AS (
            SELECT r.*, pr.product_id, pr.brand, pr.supplier, pr.category, pr.classification, pr.bpc, pr.price,
                   floor({tier_cases}[tier]
                         * CASE WHEN pr.classification IN ('BEER', 'RTD') THEN 1.6 ELSE 1.0 END
                         * CASE WHEN pr.bpc >= 100 THEN 0.3 ELSE 1.0 END
                         * exp(0.65 * gauss(u3(order_no, line, 21), u3(order_no, line, 22)) - 0.21))::BIGINT
                       AS cases0,
                   CASE WHEN pr.bpc > 1 AND u3(order_no, line, 23) < CASE WHEN onprem THEN 0.35 ELSE 0.12 END
                        THEN 1 + floor(u3(order_no, line, 24) * (pr.bpc - 1))::BIGINT ELSE 0 END AS loose
            FROM r JOIN pool ON pool.bw = r.bw AND pool.prank = r.prank JOIN products pr ON pr.pid = pool.pid
        ), q AS (
            SELECT *, CASE WHEN cases0 = 0 AND loose = 0 THEN 1 ELSE cases0 END AS cases,
                   {tier_disc}[tier] + CASE WHEN u3(order_no, line, 25) < 0.1 THEN 0.10 ELSE 0.0 END AS disc,
                   full_reject OR u3(order_no, line, 26) < 0.055 AS rejected,
                   CASE WHEN full_reject THEN order_rcode
                        WHEN u3(order_no, line, 27) < 0.45 THEN 4 WHEN u3(order_no, line, 27) < 0.60 THEN 5
                        WHEN u3(order_no, line, 27) < 0.70 THEN 6 WHEN u3(order_no, line, 27) < 0.85 THEN 7
                        ELSE 8 END AS rcode,
                   -- short shipment: one case fewer on the invoice
                   u3(order_no, line, 29) < 0.05 AS short
            FROM p
        ), v AS (
            SELECT *, cases * bpc + loose AS bottles,
                   round((cases * bpc + loose) * price * (1 - disc), 2) AS value,
                   CASE WHEN short AND cases > 1 THEN cases - 1 ELSE cases END AS inv_cases
            FROM q
        )
        SELECT idx, ts_s, key, line, rdd,
               order_no::VARCHAR || '-' || line::VARCHAR AS order_id,
               product_id, brand, supplier, category, classification,
               cases::VARCHAR AS cases_s, bottles::VARCHAR AS bottles_s,
               value::DECIMAL(18, 2)::VARCHAR AS value_s,
               rejected,
               {codes}[rcode] AS reject_code, {statuses}[rcode] AS status_code, {deliveries}[rcode] AS delivery_status,
               ts_s + CASE WHEN {at_delivery} THEN 86400 + floor(u3(order_no, line, 28) * 172800)::BIGINT
                           ELSE 600 + floor(u3(order_no, line, 28) * 85800)::BIGINT END AS rej_ts_s,
               NOT rejected AND invoiced_o AND u3(order_no, line, 30) >= 0.02 AS invoiced,
               ((ts_s // 86400) + inv_lag_days) * 86400 + inv_secs AS inv_ts_s,
               inv_cases::VARCHAR AS inv_cases_s,
               (inv_cases * bpc + loose)::VARCHAR AS inv_bottles_s,
               round(value * (inv_cases * bpc + loose) / bottles
                     * CASE WHEN u3(order_no, line, 31) < 0.03 THEN 0.97 + 0.06 * u3(order_no, line, 32)
                            ELSE 1.0 END, 2)::DECIMAL(18, 2)::VARCHAR AS inv_value_s
        FROM v
    """)


def _stream(con: duckdb.DuckDBPyConnection, window_start: datetime.date, seed: int) -> None:
    """Placed, rejected and invoiced events, numbered per (customer, activity), sorted for zone maps."""
    horizon = WINDOW_DAYS * 86400  # seconds: events at or after end_date + 1 day have not happened yet
    ws_us = int(datetime.datetime.combine(window_start, datetime.time()).replace(
        tzinfo=datetime.timezone.utc).timestamp()) * 1_000_000
    # kind: 0 invoiced, 1 placed, 2 rejected (alphabetical, so ORDER BY kind == ORDER BY activity)
    con.execute(f"""
        CREATE TABLE {SCHEMA}.{STREAM_TABLE} (
            activity_uuid VARCHAR, entity_id VARCHAR, activity VARCHAR, activity_ts TIMESTAMP,
            feature1 VARCHAR, feature2 VARCHAR, feature3 VARCHAR, feature4 VARCHAR, feature5 VARCHAR,
            feature6 VARCHAR, feature7 VARCHAR, feature8 VARCHAR, feature9 VARCHAR, feature10 VARCHAR,
            activity_occurence BIGINT, activity_repeated_at TIMESTAMP);
        INSERT INTO {SCHEMA}.{STREAM_TABLE}
        WITH ev AS (
            SELECT idx, 1 AS kind, ts_s, key + 1 AS ukey, order_id AS f1, product_id AS f2,
                   -- raw streams are not clean: the lens trims the text features
                   CASE WHEN u(key, 40) < 0.01 THEN ' ' || brand ELSE brand END AS f3,
                   supplier AS f4, category AS f5, classification AS f6,
                   cases_s AS f7, bottles_s AS f8, value_s AS f9, rdd AS f10
            FROM lines
            UNION ALL
            SELECT idx, 2, rej_ts_s, key + 2, order_id, product_id, reject_code, status_code, delivery_status,
                   NULL, cases_s, bottles_s, value_s, rdd
            FROM lines WHERE rejected AND rej_ts_s < {horizon}
            UNION ALL
            SELECT idx, 0, inv_ts_s, key + 3,
                   CASE WHEN u(key, 41) < 0.01 THEN order_id || ' ' ELSE order_id END,
                   product_id, brand, supplier, category, classification,
                   inv_cases_s, inv_bottles_s, inv_value_s, rdd
            FROM lines WHERE invoiced AND inv_ts_s < {horizon}
        ), e AS (
            SELECT *, {_uuid_sql('ukey', seed)} AS uid,
                   make_timestamp({ws_us} + ts_s * 1000000) AS activity_ts
            FROM ev
        )
        SELECT uid::VARCHAR, printf('C%07d', idx),
               ['order_invoiced', 'order_placed', 'order_rejected'][kind + 1],
               activity_ts, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10,
               row_number() OVER w, lead(activity_ts) OVER w
        FROM e
        WINDOW w AS (PARTITION BY idx, kind ORDER BY ts_s, uid)
        ORDER BY kind, ts_s, uid
    """)


# --------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------


def generate(out: str | Path, *, customers: int = 10_000, seed: int = 42, end_date: datetime.date | None = None,
             progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Write ``icebase.audience.{customers_large_data, activity_streams_large_data}`` to the DuckDB file
    ``out`` (replaced atomically) and return the row count of each table.

    Attach the file as ``icebase`` to query it. Same ``(customers, seed, end_date)`` -> same contents;
    ``end_date`` (default: today) is the last day with activity, the history covers the two years before.
    """
    if customers < 1:
        raise ValueError("customers must be >= 1")
    seed = int(seed)
    end = end_date or datetime.date.today()
    if isinstance(end, datetime.datetime):
        end = end.date()
    window_start = end - datetime.timedelta(days=WINDOW_DAYS - 1)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    started = time.perf_counter()

    def say(msg: str) -> None:
        if progress is not None:
            progress(f"[{time.perf_counter() - started:6.1f}s] {msg}")

    try:
        con = duckdb.connect(str(tmp))
        try:
            con.execute(f"CREATE SCHEMA {SCHEMA}")
            _setup(con, seed)
            _customers(con, customers)
            n_customers = _counts(con, f"SELECT count(*) FROM {SCHEMA}.{CUSTOMERS_TABLE}")
            say(f"{CUSTOMERS_TABLE}: {n_customers:,} rows")
            _orders(con, window_start)
            say(f"orders: {_counts(con, 'SELECT count(*) FROM orders'):,} from {window_start} to {end}")
            _lines(con)
            say(f"order lines: {_counts(con, 'SELECT count(*) FROM lines'):,}")
            _stream(con, window_start, seed)
            n_stream = _counts(con, f"SELECT count(*) FROM {SCHEMA}.{STREAM_TABLE}")
            say(f"{STREAM_TABLE}: {n_stream:,} rows")
            for t in ("lines", "orders", "cust"):
                con.execute(f"DROP TABLE {t}")
            con.execute("CHECKPOINT")
        finally:
            con.close()
        Path(f"{out}.wal").unlink(missing_ok=True)  # a stale WAL would be replayed onto the new file
        os.replace(tmp, out)
    finally:
        for p in (tmp, Path(f"{tmp}.wal")):
            p.unlink(missing_ok=True)
    say(f"wrote {out}")
    return {CUSTOMERS_TABLE: n_customers, STREAM_TABLE: n_stream}
