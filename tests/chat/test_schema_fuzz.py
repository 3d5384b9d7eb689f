"""Property-based testing of the API against its own OpenAPI schema (schemathesis, bounded examples).

The bar: no 5xx, and every response conforms to the schema (status codes, bodies, content types).
"""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis import checks

app = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", app)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _corpus(knowledge):
    return knowledge


@schemathesis.check
def rejects_negative_data(ctx, response, case):
    """schemathesis' negative-data check, which also counts 413 (the early body-size refusal) as a rejection."""
    if response.status_code == 413:
        return None
    return checks.negative_data_rejection(ctx, response, case)


# Rules of a chat completion request that OpenAPI 3.0 cannot state: the last message is the user's, with visible
# text, and the model is the one /v1/models lists. Refusing them is right even for schema-valid bodies.
CONVERSATION_RULES = {("messages", "invalid_request"), ("messages", "empty_message"), ("model", "model_not_found")}


@schemathesis.check
def accepts_positive_data(ctx, response, case):
    """schemathesis' positive-data check, less the conversation rules above (answered 400/404 with their code)."""
    if case.path == "/v1/chat/completions" and response.status_code in {400, 404}:
        error = response.json().get("error", {})
        param = error.get("param") or ("model" if error.get("code") == "model_not_found" else None)
        if (param, error.get("code")) in CONVERSATION_RULES:
            return None
    return checks.positive_data_acceptance(ctx, response, case)


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case):
    case.call_and_validate(
        excluded_checks=[checks.negative_data_rejection, checks.positive_data_acceptance],
        additional_checks=[rejects_negative_data, accepts_positive_data],
    )
