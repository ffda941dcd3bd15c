"""``common.errors.invalid_message``: the one builder of "Invalid <field>: <message>." sentences."""

from common.errors import invalid_message


def test_names_the_first_field_and_its_first_message_as_one_sentence():
    errors = {"quota": ["must be a number", "other"], "nit": ["too long"]}
    assert invalid_message(errors) == "Invalid quota: must be a number."


def test_a_message_ending_a_sentence_gets_no_second_period():
    assert invalid_message({"startdate": ["Enter a valid date."]}) == (
        "Invalid startdate: Enter a valid date."
    )


def test_count_all_says_how_many_fields_failed():
    errors = {"history[0].monto": ["must be a number."], "history[3].nit": ["is required"]}
    assert invalid_message(errors, count_all=True) == (
        "Invalid history[0].monto: must be a number (2 errors in all)."
    )
    assert invalid_message({"a": ["bad"]}, count_all=True) == "Invalid a: bad."
