"""Invented customer names per locale, some outside ASCII (accents, CJK, Arabic, apostrophes).

The pools are common given names and surnames, combined at random: no real person's
contact data is produced. Emails use the reserved example domains and phone numbers the
fictional 555-01xx range.
"""

from __future__ import annotations

LOCALES: tuple[str, ...] = ("en-US", "es-US", "de-DE")

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "en-US": (
        "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
        "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
        "Thomas", "Sarah", "Chris", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony",
        "Betty", "Mark", "Sandra", "Emily", "Ashley", "Zoë", "Renée", "Chloé", "Noël",
        "Aaliyah", "Wei", "Priya", "Olu", "Mei", "Siobhán", "Łukasz", "Thảo", "ليلى", "美咲",
    ),
    "es-US": (
        "José", "María", "Luis", "Sofía", "Carlos", "Lucía", "Javier", "Ana", "Andrés",
        "Valentina", "Martín", "Camila", "Raúl", "Inés", "Jesús", "Begoña", "Iñigo", "Ángel",
    ),
    "de-DE": (
        "Jürgen", "Anna", "Jörg", "Lena", "Stefan", "Katrin", "Björn", "Sophie", "Günther",
        "Mia", "Uwe", "Käthe", "Lukas", "Hannah", "Maximilian", "Sören",
    ),
}  # fmt: skip

LAST_NAMES: dict[str, tuple[str, ...]] = {
    "en-US": (
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
        "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson",
        "White", "Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "King", "Wright",
        "O'Brien", "McAllister", "Smith-Jones", "Nguyễn", "Kowalczyk", "Dubois", "Haddad",
        "Okafor", "Patel", "Chen", "Kim", "D'Angelo", "王", "حداد",
    ),
    "es-US": (
        "García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez",
        "Sánchez", "Ramírez", "Torres", "Flores", "Núñez", "Peña", "Gómez", "Díaz",
        "Muñoz", "Ibáñez",
    ),
    "de-DE": (
        "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
        "Schröder", "Weiß", "Groß", "Köhler", "Bäcker", "Hoffmann", "Schäfer", "Krüger",
    ),
}  # fmt: skip

EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "example.net")
