"""Simplified Chinese numbers as CLDR writes them (6,577,955; 15,822 ms): Django's own zh_Hans
formats leave the thousands separator empty. Everything not named here comes from Django's."""

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
