"""Keras building blocks. Modules here import Keras at import time: import them lazily."""
