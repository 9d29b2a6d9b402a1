"""Coverage-guided fuzz harnesses (atheris): one module per target, each with a
``test_one_input(data)`` that asserts the target's security properties.

Run one with ``python -m fuzz.run NAME [libFuzzer flags]`` or all with ``make fuzz``;
``tests/test_fuzz_seeds.py`` replays the committed seeds without atheris.
"""
