"""Staff side of client notifications: the card's part (delivery.py) and its buttons
(card.py), the "notify?" prompt (ready_prompt.py), /templates (templates.py, its form
template_form.py, its screens template_views.py) and the owner's switches (switches.py). The
client side lives in handlers/client.py and handlers/client_answers.py; what clients see there
is public.py."""
