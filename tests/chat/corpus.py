"""A small knowledge base for the chat tests."""

TELESCOPES = """# Telescopes

## Hubble

The Hubble Space Telescope was launched into low Earth orbit in 1990 aboard the Space Shuttle Discovery.
It was built by Lockheed Martin, and its main mirror was ground by Perkin-Elmer.

## Webb

The James Webb Space Telescope launched on 25 December 2021 on an Ariane 5 rocket from French Guiana.
Its gold-coated beryllium mirror is 6.5 metres across, and it observes in the infrared.
"""

BRIDGES = """# Bridges

## Golden Gate

The Golden Gate Bridge opened in 1937 and spans the strait between San Francisco Bay and the Pacific Ocean.
Its chief engineer was Joseph Strauss, and its colour is called International Orange.

## Tower Bridge

Tower Bridge in London was completed in 1894. Its bascules are raised for tall ships on the River Thames.
"""

CHEESE = """# Cheese

## Cheddar

Cheddar cheese originated in the English village of Cheddar in Somerset.
It is aged for between three months and several years, and sharper cheddars are aged longer.
"""

CORPUS = {"Telescopes": TELESCOPES, "Bridges": BRIDGES, "Cheese": CHEESE}
