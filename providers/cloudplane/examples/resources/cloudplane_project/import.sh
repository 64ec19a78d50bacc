tofu import cloudplane_project.team <project_id>
