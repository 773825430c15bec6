"""Write the sample roster's employee list (employees.csv) the same way every time.

    python deploy/sample/make_employees.py > deploy/sample/employees.csv

Fictional people with NIP-like ids (birth date, appointment month, sex, sequence): each
head-office unit split evenly between the alternating office groups A and B, the public
service desk in its own group, and the regional office in Makassar.
"""

from __future__ import annotations

import csv
import random
import sys
from typing import TextIO

# unit, building, how many, groups they are dealt into in turn
PLAN: tuple[tuple[str, str, int, tuple[str, ...]], ...] = (
    ("setjen", "hq-jakarta", 20, ("A", "B")),
    ("keuangan", "hq-jakarta", 45, ("A", "B")),
    ("umum", "hq-jakarta", 50, ("A", "B")),
    ("program", "hq-jakarta", 60, ("A", "B")),
    ("ti", "hq-jakarta", 30, ("A", "B")),
    ("pelayanan", "hq-jakarta", 36, ("A", "B")),
    ("pelayanan", "hq-jakarta", 24, ("layanan",)),
    ("wil-makassar", "ro-makassar", 24, ("makassar",)),
)
GIVEN_NAMES = (
    "Adi Agus Ahmad Andi Ani Arif Bambang Budi Citra Dewi Dian Eko Fajar Fitri Gita Hadi "
    "Hendra Indah Irfan Joko Kartika Lestari Made Maya Nur Putri Rahmat Rina Rudi Sari "
    "Siti Taufik Tri Wahyu Wulan Yanti Yusuf Zainal"
)
FAMILY_NAMES = (
    "Hidayat Kusuma Lubis Nasution Pratama Purnomo Putra Saputra Setiawan Siregar "
    "Susanto Wibowo Wijaya Hasibuan Pangaribuan Tanjung Manurung Simanjuntak Daeng Pattiasina"
)
GIVEN, FAMILY = GIVEN_NAMES.split(), FAMILY_NAMES.split()


def nip(rng: random.Random, seq: int) -> str:
    """An 18-digit id shaped like an Indonesian civil servant number (NIP)."""
    year = rng.randint(1966, 1998)
    born = f"{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    appointed = f"{year + rng.randint(22, 30)}{rng.randint(1, 12):02d}"
    return f"{born}{appointed}{rng.choice('12')}{seq:03d}"


def write(out: TextIO) -> None:
    rng = random.Random(20201)  # noqa: S311 - sample data, not secrets
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "name", "unit", "group", "building"])
    seen: set[str] = set()
    seq = 0
    for unit, building, count, groups in PLAN:
        for i in range(count):
            seq += 1
            employee = nip(rng, seq % 1000)
            while employee in seen:
                employee = nip(rng, seq % 1000)
            seen.add(employee)
            name = f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}"
            writer.writerow([employee, name, unit, groups[i % len(groups)], building])


if __name__ == "__main__":
    write(sys.stdout)
