tofu import cloudplane_project_member.alice <project_id>/alice@example.com
