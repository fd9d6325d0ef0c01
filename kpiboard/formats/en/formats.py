"""English dates for an international audience: the organizations are European, and
04/01/2024 reads as the 4th of January to most of them. Day before month, the month in
words, as Babel writes the dates of charts and boards ("1 December 2026")."""

DATE_FORMAT = "j F Y"  # 31 December 2026
DATETIME_FORMAT = "j F Y, H:i"
SHORT_DATE_FORMAT = "j M Y"  # 1 Apr 2024
SHORT_DATETIME_FORMAT = "j M Y, H:i"  # 1 Dec 2026, 23:20
MONTH_DAY_FORMAT = "j F"
TIME_FORMAT = "H:i"
