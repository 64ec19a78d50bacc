tofu import cloudplane_cloud_account.aws <project_id>/<account_id>
