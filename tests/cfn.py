"""A small CloudFormation evaluator for the template tests, so that they can feed parameter values offline.

- ``parameter_errors``: what CloudFormation checks before it creates anything: each parameter's type, length,
  ``AllowedValues`` and ``AllowedPattern`` (the whole value must match; CloudFormation uses Java's regex engine,
  these patterns stick to the syntax Java and Python share), then the ``Rules`` with the functions rules allow.
- ``Stack``: the intrinsic functions template.yaml uses (``Ref``, ``Fn::Sub``, ``Fn::Join``, ``Fn::Split``,
  ``Fn::Select``, ``Fn::If`` and the condition functions), evaluated with given parameter values, resources standing
  in as placeholder names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/edge-router/3f2b6c1e-8a0d-11ef-9f1a-0a1b2c3d4e5f"
PSEUDO = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "edge-router",
    "AWS::StackId": STACK_ID,
}
NO_VALUE = object()
"""``AWS::NoValue``: dropped from the list or mapping that holds it."""
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
_LOGIC: dict[str, Callable[[list[Any]], bool]] = {
    "Fn::Equals": lambda args: bool(args[0] == args[1]),
    "Fn::Not": lambda args: not args[0],
    "Fn::And": all,
    "Fn::Or": any,
}
"""The condition functions, as conditions and rules both evaluate them."""


def parameter_values(template: Mapping[str, Any], overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every parameter's value as CloudFormation receives it (a string), from ``overrides`` or the default."""
    values = {}
    for name, spec in template["Parameters"].items():
        if overrides and name in overrides:
            values[name] = overrides[name]
        elif "Default" in spec:
            values[name] = str(spec["Default"])
    return values


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _parameter_error(name: str, spec: Mapping[str, Any], value: str) -> str | None:
    kind = spec["Type"]
    if kind == "Number":
        number = _number(value)
        if number is None:
            return f"{name}: {value!r} is not a number"
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return f"{name}: {value} is below {spec['MinValue']}"
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return f"{name}: {value} is above {spec['MaxValue']}"
        if "AllowedValues" in spec and number not in {float(v) for v in spec["AllowedValues"]}:
            return f"{name}: {value} is not one of {spec['AllowedValues']}"
        return None
    members = [m.strip() for m in value.split(",")] if kind == "CommaDelimitedList" else [value]
    for member in members:
        if "MinLength" in spec and len(member) < spec["MinLength"]:
            return f"{name}: shorter than {spec['MinLength']}"
        if "MaxLength" in spec and len(member) > spec["MaxLength"]:
            return f"{name}: longer than {spec['MaxLength']}"
        if "AllowedValues" in spec and member not in [str(v) for v in spec["AllowedValues"]]:
            return f"{name}: {member!r} is not one of {spec['AllowedValues']}"
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], member):
            return f"{name}: {member!r} does not match AllowedPattern ({spec.get('ConstraintDescription', '')})"
    return None


def _rule_value(node: Any, values: Mapping[str, str]) -> Any:
    """Rules allow only Ref and a few functions (Fn::And/Contains/EachMemberEquals/EachMemberIn/Equals/Not/Or)."""
    if isinstance(node, list):
        return [_rule_value(item, values) for item in node]
    if not isinstance(node, dict):
        return str(node)
    ((function, args),) = node.items()
    if function == "Ref":
        return PSEUDO[args] if args in PSEUDO else values[args]
    evaluated = [_rule_value(arg, values) for arg in args]
    if function in _LOGIC:
        return _LOGIC[function](evaluated)
    if function == "Fn::Contains":
        return evaluated[1] in evaluated[0]
    if function == "Fn::EachMemberEquals":
        return all(member == evaluated[1] for member in evaluated[0])
    if function == "Fn::EachMemberIn":
        return all(member in evaluated[1] for member in evaluated[0])
    raise ValueError(f"{function} is not a function CloudFormation allows in Rules")


def parameter_errors(template: Mapping[str, Any], overrides: Mapping[str, str] | None = None) -> list[str]:
    """Why CloudFormation would refuse these parameter values before creating anything (empty: it accepts them)."""
    values = parameter_values(template, overrides)
    errors = [f"{name}: no value" for name in template["Parameters"] if name not in values]
    for name, spec in template["Parameters"].items():
        if name in values:
            error = _parameter_error(name, spec, values[name])
            if error:
                errors.append(error)
    if errors:
        return errors
    for rule_name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not _rule_value(rule["RuleCondition"], values):
            continue
        for assertion in rule["Assertions"]:
            if not _rule_value(assertion["Assert"], values):
                errors.append(f"{rule_name}: {assertion.get('AssertDescription', 'assertion failed')}")
    return errors


class Stack:
    """A template's intrinsic functions evaluated with given parameter values (defaults for the rest)."""

    def __init__(self, template: Mapping[str, Any], overrides: Mapping[str, str] | None = None) -> None:
        self.template = template
        self.values = parameter_values(template, overrides)

    def physical(self, logical_id: str) -> str:
        """What ``Ref`` of a resource stands for here: a recognisable placeholder."""
        return f"edge-router-{logical_id}-PHYSICAL"

    def condition(self, name: str) -> bool:
        """A named condition of the template."""
        return bool(self.value(self.template["Conditions"][name]))

    def value(self, node: Any) -> Any:
        """``node`` with every intrinsic function evaluated; ``AWS::NoValue`` entries removed."""
        if isinstance(node, list):
            items = [self.value(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, args),) = node.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._function(key, args)
        items = {key: self.value(item) for key, item in node.items()}
        return {key: item for key, item in items.items() if item is not NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.values:
            spec = self.template["Parameters"][name]
            value = self.values[name]
            return [m.strip() for m in value.split(",")] if spec["Type"] == "CommaDelimitedList" else value
        if name.endswith(".Version"):
            return f"arn:aws:lambda:us-east-1:123456789012:function:{self.physical(name[:-8])}:1"
        return self.physical(name)

    def _function(self, function: str, args: Any) -> Any:
        if function == "Ref":
            return self._ref(args)
        if function == "Condition":
            return self.condition(args)
        if function == "Fn::If":
            name, when_true, when_false = args
            return self.value(when_true if self.condition(name) else when_false)
        if function == "Fn::Sub":
            text, variables = (args, {}) if isinstance(args, str) else (args[0], self.value(args[1]))

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in variables:
                    return str(variables[name])
                if "." in name and name.partition(".")[0] in self.template.get("Resources", {}):
                    return f"{self.physical(name.partition('.')[0])}.{name.partition('.')[2]}"
                return str(self._ref(name))

            return _SUB_VARIABLE.sub(substitute, text)
        if function == "Fn::GetAtt":
            logical_id, attribute = args if isinstance(args, list) else args.split(".", 1)
            return f"{self.physical(logical_id)}.{attribute}"
        evaluated = self.value(args)
        if function == "Fn::Join":
            separator, items = evaluated
            return separator.join(str(item) for item in items)
        if function == "Fn::Split":
            separator, text = evaluated
            return text.split(separator)
        if function == "Fn::Select":
            index, items = evaluated
            return items[int(index)]
        if function in _LOGIC:
            return _LOGIC[function](evaluated)
        raise ValueError(f"{function} is not evaluated here")
