tofu import cloudplane_webhook.chat <webhook_id>
