tofu import cloudplane_guardrails.team <project_id>
