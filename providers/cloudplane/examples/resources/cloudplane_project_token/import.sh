tofu import cloudplane_project_token.ci <project_id>/<token_id>
