#!/usr/bin/env python3
"""How much of the Open Cookie Database the built-in catalog recognises, for the services the
catalog is meant to cover, among the cookies set on a site's own domain.

    scripts/catalog_coverage.py path/to/open-cookie-database.csv

The database is not in this repository (its licence is not stated where it is stored); fetch a
copy of https://github.com/jkwakman/Open-Cookie-Database. Rows whose Domain names only the
vendor's own domain are left out (those cookies never reach the site's Set-Cookie headers).
Wildcard rows are tried with a typical suffix. Prints the share recognised, the share whose
category agrees with the database's (which files some tracking tools under Functional), and the
names not recognised.
"""
import csv
import subprocess
import sys

PLATFORMS = [
    "google analytics", "google tag manager", "google ads", "google adsense", "doubleclick",
    "hotjar", "linkedin", "tiktok", "pinterest", "snapchat", "matomo", "piwik", "yandex",
    "adobe", "optimizely", "visual website optimizer", "zopim", "sharethis", "facebook",
    "clarity", "bing", "hubspot", "reddit", "taboola", "outbrain", "criteo", "addthis",
]
CATEGORY = {"Analytics": "analytics", "Marketing": "marketing", "Functional": "necessary",
            "Personalization": "preferences"}


def first_party(domain):
    domain = domain.strip().lower()
    return domain == "" or " or" in domain or domain.startswith("or ")


def instance(name, wildcard):
    if wildcard != "1":
        return name
    if name == "_gat":
        return "_gat_UA-123-1"
    if name[-1] in "_.-":
        return name + "1a2b"
    if name.startswith("_pk_"):
        return name + ".1.1a2b"
    return name + "_1a2b"


def main():
    rows = []
    with open(sys.argv[1], newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            platform = row.get("Platform", "")
            if not any(p in platform.lower() for p in PLATFORMS):
                continue
            if not first_party(row.get("Domain", "")):
                continue
            name = row.get("Cookie / Data Key name", "").strip()
            if name:
                rows.append((platform, CATEGORY.get(row.get("Category", ""), "?"),
                             instance(name, row.get("Wildcard match", "0").strip())))
    names = "\n".join(name for _, _, name in rows)
    out = subprocess.run(["cargo", "run", "-q", "--example", "inspect", "--", "cookie"],
                         input=names, capture_output=True, text=True, check=True).stdout
    answers = [line.split("\t") for line in out.splitlines()]
    known = [a for a in answers if a[1] != "unknown"]
    same = [a for a, r in zip(answers, rows) if a[1] == r[1]]
    print(f"rows: {len(rows)}; recognised: {len(known)} ({100 * len(known) / len(rows):.1f}%); "
          f"same category as the database: {len(same)} ({100 * len(same) / len(rows):.1f}%)")
    print("not recognised:", ", ".join(a[0] for a in answers if a[1] == "unknown"))


if __name__ == "__main__":
    main()
