"""The Issue record: its dict form is what every JSON-like output prints."""

from dataclasses import asdict, fields

from fhirrug.issues import ERROR, Issue, is_at_least, severity_rank


def test_to_dict_has_every_field_with_its_value():
    issue = Issue("que-2", ERROR, "linkId 'a' is used twice", "q.json", "Questionnaire.item[1]")
    assert issue.to_dict() == asdict(issue)
    assert list(issue.to_dict()) == [f.name for f in fields(Issue)]


def test_severity_order_follows_fhir():
    assert severity_rank("fatal") < severity_rank("error") < severity_rank("warning") < severity_rank("information")
    assert is_at_least("error", "warning") and not is_at_least("information", "warning")
